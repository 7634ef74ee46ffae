// verify's progress: totals from the target's listing, known before the comparison starts and
// never below what was compared; the line a terminal shows for it.
import { describe, expect, it } from 'vitest';
import { AuditProgress } from '../../../src/source/audit-progress.js';
import { auditLine } from '../../../src/cli/render-audit.js';

describe('AuditProgress', () => {
  it('shows nothing until an audit begins, and nothing after it ends', () => {
    const p = new AuditProgress();
    expect(p.view()).toBeUndefined();
    p.begin('verify', 'diff');
    expect(p.view()?.state).toBe('listing');
    p.end();
    expect(p.view()).toBeUndefined();
  });

  it('counts entries and bytes against the listing, raising a total the source outgrows', () => {
    const p = new AuditProgress();
    p.begin('verify', 'checksum');
    p.listed(3, 300);
    p.entry(100);
    p.entry(0);
    expect(p.view()).toMatchObject({
      state: 'comparing',
      entriesDone: 2,
      entriesTotal: 3,
      bytesDone: 100,
      bytesTotal: 300,
    });
    p.entry(150);
    p.entry(100); // a fourth entry, only on the source
    expect(p.view()).toMatchObject({
      entriesDone: 4,
      entriesTotal: 4,
      bytesDone: 350,
      bytesTotal: 350,
    });
    p.fixing();
    expect(p.view()?.state).toBe('fixing');
  });

  it('renders a listing, a count with its share, and rate and time left when known', () => {
    const p = new AuditProgress();
    p.begin('verify', 'checksum');
    expect(auditLine(p.view()!)).toBe('verify (checksum): listing the target…');
    p.listed(10, 10 * 1024 * 1024);
    for (let i = 0; i < 5; i++) p.entry(1024 * 1024);
    expect(auditLine(p.view()!, 2 * 1024 * 1024, 30_000)).toBe(
      'verify (checksum): 5/10 entries, 5.0 MiB/10.0 MiB, 50%, 2.0 MiB/s, 30s left',
    );
    const d = new AuditProgress();
    d.begin('orphans', 'diff');
    d.listed(200, 0);
    for (let i = 0; i < 50; i++) d.entry(0);
    expect(auditLine(d.view()!, 100, null)).toBe(
      'orphans (diff): 50/200 entries, 25%, 100 entries/s',
    );
  });
});

// A connection record as the source writes it (connections/NAME/connection.json): the schema's
// tests and the loader's tests check the same one.

/** A valid record of connection `web`; spread it and override what a test changes. */
export const CONNECTION_RECORD = {
  name: 'web',
  to: '127.0.0.1:6320',
  path: '/srv/web',
  targetPath: 'web',
  include: [],
  exclude: ['*.tmp'],
  mirror: 'diff',
  replicate: true,
  transmit: 'started',
  keyFile: null,
  bandwidth: null,
  epoch: 7,
  remirrorRequired: false,
  createdAt: '2026-01-01T00:00:00Z',
} as const;

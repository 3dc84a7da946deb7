// The unit tier alone (docs/testing.md): every suite that needs no control plane and no root.
// `npm run test:unit`; `npm test` runs it with the other tiers (jest.config.js).
import { unit } from './jest.config.js';

/** @type {import('jest').Config} */
export default { ...unit, maxWorkers: 2 };

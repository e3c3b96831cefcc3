// dist/cjs holds CommonJS output inside a "type": "module" package; this marker tells Node so.
const fs = require('node:fs');
const path = require('node:path');
fs.writeFileSync(path.join(__dirname, '..', 'dist', 'cjs', 'package.json'), '{ "type": "commonjs" }\n');

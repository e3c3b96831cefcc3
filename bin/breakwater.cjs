#!/usr/bin/env node
'use strict';
// The CLI is src/cli.ts; this shim loads its CommonJS build, which works on every
// supported Node without the ESM loader, and runs it.
require('../dist/cjs/src/cli.js').run();

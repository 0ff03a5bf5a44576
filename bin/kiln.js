#!/usr/bin/env node
// kiln's executable: the compiled CLI (npm's `prepare` compiles src/ to dist/; `npm run build` does it again).
import '../dist/cli/bin.js';

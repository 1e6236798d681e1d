#!/usr/bin/env node
// The `gatehouse` command. A committed shim, so npm can link the bin at install time, before
// `npm ci`'s prepare step has built dist/.
import '../dist/cli/main.js';

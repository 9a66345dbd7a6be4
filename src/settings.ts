// The settings build.mjs writes into the bundle (their fields: src/espruino.d.ts), under one short name
// for every module: each module's own alias would be one more variable kept in memory.
export const S = __TABLECALL__

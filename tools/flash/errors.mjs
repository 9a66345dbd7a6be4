/** An expected failure: cli.mjs prints only its one-line message, never a stack trace. */
export class FlashError extends Error {}

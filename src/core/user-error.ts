// The one base class of errors a user can cause: a bad flag, launch or config file, policy folder, recording,
// attack reference, console or dashboard request. Its message names the input and says what would be
// accepted; the CLI prints it as one line with exit 2 (src/cli/main.ts). Any other error is a bug and keeps
// its stack (a RangeError from an out-of-bounds typed-array write must not read like bad input).
export class UserError extends Error {
  override readonly name: string = 'UserError';
}

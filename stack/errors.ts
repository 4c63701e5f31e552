// The one error type every layer may throw when the harness itself cannot run (bad input, no Docker):
// the command line turns it into one line and exit code 2.
export class HarnessError extends Error {
  constructor(message: string, public hint?: string) {
    super(message);
  }
}

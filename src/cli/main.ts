// The swarmguard command line: parses the arguments (program.ts) and turns errors into exit codes.
import { CommanderError } from 'commander';
import { ConfigError } from '../core/config-file.js';
import { InvalidCommandError } from '../../sim/world.js';
import { PolicyFolderError } from '../policy/folder.js';
import { RecordingError } from '../recording/reader.js';
import { SilentRobotsError } from '../runtime/link.js';
import { buildProgram } from './program.js';

/** Exit code of a usage error (a bad flag or argument) and of input refused before anything runs (config, policy folder, recording). */
const USAGE_ERROR = 2;

const program = buildProgram();

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Commander has printed its message; --help and --version end with 0.
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : USAGE_ERROR);
  if (err instanceof SilentRobotsError) {
    console.error(`swarmguard: ${err.message}`);
    process.exit(1);
  }
  if (err instanceof ConfigError || err instanceof RangeError || err instanceof InvalidCommandError || err instanceof PolicyFolderError || err instanceof RecordingError) {
    console.error(`swarmguard: ${err.message}`);
    process.exit(USAGE_ERROR);
  }
  throw err;
}

import { runSynth } from './charts/cli';

process.exitCode = runSynth(process.argv.slice(2));

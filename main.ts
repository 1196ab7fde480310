import { runSynth } from './synth/cli';

process.exitCode = runSynth(process.argv.slice(2));

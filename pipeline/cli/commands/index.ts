/** Every command, grouped and ordered as the work goes: models → relevance → catalogue → site. */
import type { Command } from '../command.ts';
import catalogue from './catalogue.ts';
import deltaT from './delta-t.ts';
import demo from './demo.ts';
import edit from './edit.ts';
import exportReference from './export-reference.ts';
import importArcface from './import-arcface.ts';
import importClip from './import-clip.ts';
import importFs3 from './import-fs3.ts';
import importStylegan2 from './import-stylegan2.ts';
import mapperTrain from './mapper-train.ts';
import merge from './merge.ts';
import modelsBuild from './models-build.ts';
import modelsList from './models-list.ts';
import nightly from './nightly.ts';
import nightlyStatus from './nightly-status.ts';
import optimise from './optimise.ts';
import relevance from './relevance.ts';
import render from './render.ts';
import siteBuild from './site-build.ts';
import siteServe from './site-serve.ts';
import stats from './stats.ts';
import tokenize from './tokenize.ts';

export interface CommandSection {
  title: string;
  commands: readonly Command[];
}

export const commandSections: readonly CommandSection[] = [
  { title: '1. models (bundles to build, import and look at)', commands: [modelsBuild, modelsList, importStylegan2, importClip, importArcface, render, tokenize] },
  { title: '2. relevance (the fs3 matrix of a generator × encoder)', commands: [stats, relevance, merge, importFs3, exportReference, deltaT, edit] },
  { title: '3. catalogue (directions and mappers of a prompt file, with galleries and downloads)', commands: [catalogue] },
  { title: '4. site (the website of a catalogue)', commands: [siteBuild, siteServe] },
  { title: '5. nightly (every step for real models, from one config: this machine, Slurm or Kubernetes)', commands: [nightly, nightlyStatus] },
  { title: '6. the other StyleCLIP methods (edits optimised through the generator)', commands: [optimise, mapperTrain] },
  { title: 'all of it', commands: [demo] },
];

export const commands: readonly Command[] = commandSections.flatMap((s) => s.commands);

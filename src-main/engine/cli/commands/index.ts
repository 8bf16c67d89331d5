/**
 * Every CLI command, registered in the order `fieldmoe --help` lists them. A new command is a
 * module here and one entry in this list.
 */
import { registerCommand } from '../command';
import { infoCommand } from './info';
import { classifyCommand } from './classify';
import { finetuneCommand } from './finetune';
import { evalCommand } from './eval';
import { trainCommand } from './train';

for (const c of [infoCommand, classifyCommand, finetuneCommand, evalCommand, trainCommand]) registerCommand(c);

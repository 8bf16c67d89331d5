/**
 * The training commands (issue 5): importing this module registers finetune, eval and train in
 * the CLI's command registry.
 */
import { registerCommand } from '../command';
import { finetuneCommand } from './finetune';
import { evalCommand } from './eval';
import { trainCommand } from './train';

export const TRAINING_COMMANDS = [finetuneCommand, evalCommand, trainCommand];
for (const c of TRAINING_COMMANDS) registerCommand(c);

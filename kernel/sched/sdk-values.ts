import { MAX_NODE_SCORE, NODE_RUNTIME_DEDICATED_LABEL, NODE_RUNTIME_LABEL, Status } from '@kern/sdk';

// sdk values that per-node code reads, copied once into this module. Through
// the sdk's compiled re-exports every read of an sdk export is two getter
// calls, and filters and scores run per pod × node × plugin.

/** `Status.success()`. */
export const SUCCESS = Status.success();
/** `MAX_NODE_SCORE`. */
export const MAX_SCORE = MAX_NODE_SCORE;
/** `NODE_RUNTIME_LABEL`. */
export const RUNTIME_LABEL = NODE_RUNTIME_LABEL;
/** `NODE_RUNTIME_DEDICATED_LABEL`. */
export const RUNTIME_DEDICATED_LABEL = NODE_RUNTIME_DEDICATED_LABEL;

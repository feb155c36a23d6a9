// The budget controller for budget "auto" rows: what a worker (or a benchmark) runs beside an
// Engine to tighten thresholds when the work it holds would miss its deadlines. Engine types only.
export {
  BudgetLoop,
  type BudgetEngine,
  type BudgetLog,
  type BudgetLoopOptions,
  type BudgetMetrics,
} from './budget-loop';
export {
  Backlog,
  estimateBacklog,
  heldItem,
  NO_WAITING_WORK,
  type HeldItem,
  type WaitingWork,
} from './backlog';
export {
  decide,
  LEVELS,
  simulate,
  type BacklogEntry,
  type Decision,
  type Rates,
} from './budget-controller';
export { RateTracker } from './rate-tracker';

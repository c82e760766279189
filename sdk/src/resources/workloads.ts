import { LabelSelectorSpec } from '../selectors';
import { KernObject, ObjectMeta } from './meta';
import { PodSpec } from './core';

/** A pod template, as workloads embed it. */
export interface PodTemplateSpec {
  metadata?: Partial<ObjectMeta>;
  spec: PodSpec;
}

export interface ReplicaSetSpec {
  replicas?: number;
  selector: LabelSelectorSpec;
  template: PodTemplateSpec;
  minReadySeconds?: number;
}

export interface ReplicaSetStatus {
  replicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  fullyLabeledReplicas?: number;
  observedGeneration?: number;
}

/** ReplicaSet (apps/v1): keeps N pods matching its selector. */
export type ReplicaSet = KernObject<ReplicaSetSpec, ReplicaSetStatus>;

export interface DeploymentSpec {
  replicas?: number;
  selector: LabelSelectorSpec;
  template: PodTemplateSpec;
  strategy?: {
    type?: 'RollingUpdate' | 'Recreate';
    rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string };
  };
  revisionHistoryLimit?: number;
  progressDeadlineSeconds?: number;
  minReadySeconds?: number;
  paused?: boolean;
}

export interface WorkloadCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  conditions?: WorkloadCondition[];
}

/** Deployment (apps/v1): declarative rollouts over ReplicaSets. */
export type Deployment = KernObject<DeploymentSpec, DeploymentStatus>;

export interface JobSpec {
  template: PodTemplateSpec;
  completions?: number;
  parallelism?: number;
  backoffLimit?: number;
  activeDeadlineSeconds?: number;
  ttlSecondsAfterFinished?: number;
  completionMode?: 'NonIndexed' | 'Indexed';
  selector?: LabelSelectorSpec;
  suspend?: boolean;
}

export interface JobStatus {
  active?: number;
  succeeded?: number;
  failed?: number;
  startTime?: string;
  completionTime?: string;
  completedIndexes?: string;
  conditions?: WorkloadCondition[];
}

/** Job (batch/v1): runs pods to completion. */
export type Job = KernObject<JobSpec, JobStatus>;

export interface CronJobSpec {
  schedule: string;
  timeZone?: string;
  concurrencyPolicy?: 'Allow' | 'Forbid' | 'Replace';
  startingDeadlineSeconds?: number;
  successfulJobsHistoryLimit?: number;
  failedJobsHistoryLimit?: number;
  suspend?: boolean;
  jobTemplate: { metadata?: Partial<ObjectMeta>; spec: JobSpec };
}

export interface CronJobStatus {
  active?: { kind: string; name: string; namespace?: string; uid?: string }[];
  lastScheduleTime?: string;
  lastSuccessfulTime?: string;
}

/** CronJob (batch/v1): Jobs on a cron schedule. */
export type CronJob = KernObject<CronJobSpec, CronJobStatus>;

export interface DaemonSetSpec {
  selector: LabelSelectorSpec;
  template: PodTemplateSpec;
  updateStrategy?: { type?: 'RollingUpdate' | 'OnDelete'; rollingUpdate?: { maxUnavailable?: number | string } };
  minReadySeconds?: number;
}

export interface DaemonSetStatus {
  currentNumberScheduled?: number;
  desiredNumberScheduled?: number;
  numberReady?: number;
  updatedNumberScheduled?: number;
  numberAvailable?: number;
  numberMisscheduled?: number;
  observedGeneration?: number;
}

/** DaemonSet (apps/v1): one pod on every eligible node. */
export type DaemonSet = KernObject<DaemonSetSpec, DaemonSetStatus>;

// Worker entry point: the HTTP app and the cluster Durable Object class.
import { createApp } from './app.js';

export { ClusterDO } from '../durable-objects/cluster-do.js';

export default createApp();

// Worker entry point: the HTTP app and the Durable Object classes (clusters and their registry).
import { createApp } from './app.js';

export { ClusterDO } from '../durable-objects/cluster-do.js';
export { RegistryDO } from '../durable-objects/registry-do.js';

export default createApp();

/**
 * Informers and caches: list + watch kept alive through disconnects, 410s and silent streams,
 * indexed stores, change handlers, and the factory that shares one informer per selection.
 *
 * @module
 */

export { type LogFields, type Logger, silentLogger } from "../logger.ts";
export { type BackoffOptions, defaultBackoff, ReconnectBackoff } from "./backoff.ts";
export {
  clientListWatch,
  clientSource,
  type ListWatchCapableClient,
  toPartialObjectMetadata,
} from "./client-source.ts";
export type {
  AddInfo,
  DeleteInfo,
  EventHandler,
  HandlerOptions,
  HandlerRegistration,
  UpdateInfo,
} from "./handlers.ts";
export {
  builtinIndexers,
  CONTROLLER_INDEX,
  controllerIndexFunc,
  type Indexers,
  type IndexFunc,
  LABEL_INDEX,
  labelIndexFunc,
  NAMESPACE_INDEX,
  namespaceIndexFunc,
} from "./indexes.ts";
export { Informer, type InformerOptions, informerId } from "./informer.ts";
export {
  describeInformer,
  type InformerId,
  type InformerObserver,
  type InformerStats,
  type ListInfo,
  type ListMode,
  type RestartInfo,
  type RestartReason,
} from "./observer.ts";
export {
  Reflector,
  type ReflectorOptions,
  type ReflectorSink,
  type ReflectorTuning,
} from "./reflector.ts";
export {
  InformerFactory,
  type InformerFactoryOptions,
  type InformerSelection,
  normalizeSelector,
} from "./shared-informers.ts";
export {
  type BookmarkObject,
  type ErrorStatus,
  INITIAL_EVENTS_END_ANNOTATION,
  type ListRequest,
  type ListWatchClient,
  type ListWatchEvent,
  type PartialObjectMetadata,
  type Selection,
  type WatchRequest,
} from "./source.ts";
export { Store, type StoreChange, type StoreOptions, type StoreReader } from "./store.ts";
export { keepObject, stripManagedFields, type Transform } from "./transform.ts";

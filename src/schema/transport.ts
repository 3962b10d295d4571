/** The inlets events arrive by: the label of every per-transport metric and of each request in the pipeline. */
export type Transport = 'http' | 'otlp' | 'nats' | 'otlp-grpc' | 'elasticsearch' | 'loki';

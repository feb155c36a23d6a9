// Moved to tools/lib (tools never import bench; bench may use tools).
export * from '../../tools/lib/timing';

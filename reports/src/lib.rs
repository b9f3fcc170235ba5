//! rpcbench results schema and reports (filled in by the report issue).

"""CloudQuery plugin protocol v3 over gRPC: serve syncline's plugins, drive external ones."""

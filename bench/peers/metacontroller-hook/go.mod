module operon.dev/bench/metacontroller-hook

go 1.26.0

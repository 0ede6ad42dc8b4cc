// Command ferretdb runs FerretDB (a MongoDB-compatible server) with its PostgreSQL
// or SQLite backend for local runs and tests (flags named as upstream's:
// -handler, -postgresql-url, -sqlite-dir). It embeds FerretDB as a library because the
// upstream command refuses to start when built outside its own repository.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	handler := flag.String("handler", "sqlite", "backend: postgresql or sqlite")
	pgURL := flag.String("postgresql-url", "", "PostgreSQL URL for -handler=postgresql, e.g. postgres://127.0.0.1:5432/ferretdb")
	dir := flag.String("sqlite-dir", "data", "directory for the SQLite databases (-handler=sqlite)")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb: bad -log-level:", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	config := &ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: *listen},
		Logger:   logger,
		Handler:  *handler,
	}
	switch *handler {
	case "sqlite":
		if err := os.MkdirAll(*dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "ferretdb:", err)
			os.Exit(1)
		}
		config.SQLiteURL = "file:" + *dir + "/"
	case "postgresql":
		if *pgURL == "" {
			fmt.Fprintln(os.Stderr, "ferretdb: -handler=postgresql needs -postgresql-url")
			os.Exit(2)
		}
		config.PostgreSQLURL = *pgURL
	default:
		fmt.Fprintln(os.Stderr, "ferretdb: bad -handler (postgresql or sqlite):", *handler)
		os.Exit(2)
	}

	db, err := ferretdb.New(config)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if err := db.Run(ctx); err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

package registry

import (
	"context"
	"sync"
	"testing"
)

// TestPostgresConnectionsAreBounded: more concurrent queries than the PostgreSQL
// server takes clients (the office server's long polls woken together) wait for a
// connection of the register's pool instead of failing with "too many clients".
func TestPostgresConnectionsAreBounded(t *testing.T) {
	s, _ := testEngine{PostgreSQL}.open(t)
	ctx := context.Background()
	var max int
	if err := s.db.QueryRowContext(ctx, `SELECT current_setting('max_connections')::int`).Scan(&max); err != nil {
		t.Fatal(err)
	}
	n := max + 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.db.ExecContext(ctx, `SELECT pg_sleep(0.05)`); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("%d concurrent queries on a server taking %d clients: %v", n, max, err)
	}
	if got := s.db.Stats().MaxOpenConnections; got != MaxPostgresConns {
		t.Errorf("pool bound = %d, want %d", got, MaxPostgresConns)
	}
}

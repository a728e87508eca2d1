package audit

import "context"

type actorKey struct{}

// WithActor returns a context that names who causes the changes made with it. A
// server sets it per request; the registry prefers it over its store-wide actor.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor set with WithActor, if any.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// Package cache implements a sharded LRU cache with per-entry expiry and hit statistics.
package cache

import (
	"container/list"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"
)

// Stats counts cache outcomes since the cache was created.
type Stats struct {
	Hits      uint64
	Misses    uint64
	Evictions uint64
	Expired   uint64
}

// HitRate is the share of lookups that found a live entry, or 0 before any lookup.
func (s Stats) HitRate() float64 {
	total := s.Hits + s.Misses
	if total == 0 {
		return 0
	}
	return float64(s.Hits) / float64(total)
}

type entry[V any] struct {
	key     string
	value   V
	expires time.Time
}

type shard[V any] struct {
	mu       sync.Mutex
	capacity int
	order    *list.List
	items    map[string]*list.Element
}

// Cache is safe for concurrent use. The zero value is not usable: call New.
type Cache[V any] struct {
	shards []*shard[V]
	ttl    time.Duration
	now    func() time.Time

	hits, misses, evictions, expired atomic.Uint64
}

// Option configures a Cache.
type Option func(*options)

type options struct {
	shards int
	ttl    time.Duration
	now    func() time.Time
}

// WithShards splits the cache into n independently locked parts (default 16).
func WithShards(n int) Option {
	return func(o *options) { o.shards = n }
}

// WithTTL makes entries expire d after they were last written (default: never).
func WithTTL(d time.Duration) Option {
	return func(o *options) { o.ttl = d }
}

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// New returns a cache that holds about capacity entries in total.
func New[V any](capacity int, opts ...Option) *Cache[V] {
	o := options{shards: 16, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.shards < 1 {
		o.shards = 1
	}
	per := (capacity + o.shards - 1) / o.shards
	if per < 1 {
		per = 1
	}
	c := &Cache[V]{ttl: o.ttl, now: o.now}
	for i := 0; i < o.shards; i++ {
		c.shards = append(c.shards, &shard[V]{
			capacity: per,
			order:    list.New(),
			items:    make(map[string]*list.Element, per),
		})
	}
	return c
}

func (c *Cache[V]) shardFor(key string) *shard[V] {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return c.shards[h.Sum32()%uint32(len(c.shards))]
}

// Get returns the value for key and whether a live entry was found.
func (c *Cache[V]) Get(key string) (V, bool) {
	s := c.shardFor(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	var zero V
	el, ok := s.items[key]
	if !ok {
		c.misses.Add(1)
		return zero, false
	}
	e := el.Value.(*entry[V])
	if c.ttl > 0 && c.now().After(e.expires) {
		s.order.Remove(el)
		delete(s.items, key)
		c.expired.Add(1)
		c.misses.Add(1)
		return zero, false
	}
	s.order.MoveToFront(el)
	c.hits.Add(1)
	return e.value, true
}

// Set stores value under key, evicting the least recently used entry of its shard if full.
func (c *Cache[V]) Set(key string, value V) {
	s := c.shardFor(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	expires := time.Time{}
	if c.ttl > 0 {
		expires = c.now().Add(c.ttl)
	}
	if el, ok := s.items[key]; ok {
		e := el.Value.(*entry[V])
		e.value, e.expires = value, expires
		s.order.MoveToFront(el)
		return
	}
	s.items[key] = s.order.PushFront(&entry[V]{key: key, value: value, expires: expires})
	for s.order.Len() > s.capacity {
		oldest := s.order.Back()
		s.order.Remove(oldest)
		delete(s.items, oldest.Value.(*entry[V]).key)
		c.evictions.Add(1)
	}
}

// Delete removes key and reports whether it was present.
func (c *Cache[V]) Delete(key string) bool {
	s := c.shardFor(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.items[key]
	if ok {
		s.order.Remove(el)
		delete(s.items, key)
	}
	return ok
}

// Len counts entries, including expired ones not yet removed.
func (c *Cache[V]) Len() int {
	n := 0
	for _, s := range c.shards {
		s.mu.Lock()
		n += len(s.items)
		s.mu.Unlock()
	}
	return n
}

// GetOrLoad returns the cached value or calls load, caching what it returns without error.
func (c *Cache[V]) GetOrLoad(key string, load func(string) (V, error)) (V, error) {
	if v, ok := c.Get(key); ok {
		return v, nil
	}
	v, err := load(key)
	if err != nil {
		return v, err
	}
	c.Set(key, v)
	return v, nil
}

// Stats returns a snapshot of the counters.
func (c *Cache[V]) Stats() Stats {
	return Stats{
		Hits:      c.hits.Load(),
		Misses:    c.misses.Load(),
		Evictions: c.evictions.Load(),
		Expired:   c.expired.Load(),
	}
}

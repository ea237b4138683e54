package winreg

import (
	"sync/atomic"
	"time"
)

// Counter is a Registry that counts the registry calls made through it:
// every method of its keys but Close, which is what Windows and Wine's
// server each answer as one request. Tests use it to hold a source to its
// budget of calls.
type Counter struct {
	r Registry
	n atomic.Int64
}

// NewCounter counts the calls made to r.
func NewCounter(r Registry) *Counter { return &Counter{r: r} }

// Calls is the number of registry calls made so far.
func (c *Counter) Calls() int64 { return c.n.Load() }

// OpenKey implements [Registry].
func (c *Counter) OpenKey(hive Hive, path string, view View) (Key, error) {
	c.n.Add(1)
	k, err := c.r.OpenKey(hive, path, view)
	if err != nil {
		return nil, err
	}
	return &countedKey{k: k, c: c}, nil
}

type countedKey struct {
	k Key
	c *Counter
}

func (k *countedKey) OpenSubKey(path string) (Key, error) {
	k.c.n.Add(1)
	sk, err := k.k.OpenSubKey(path)
	if err != nil {
		return nil, err
	}
	return &countedKey{k: sk, c: k.c}, nil
}

func (k *countedKey) SubKeyNames() ([]string, error) { k.c.n.Add(1); return k.k.SubKeyNames() }
func (k *countedKey) ValueNames() ([]string, error)  { k.c.n.Add(1); return k.k.ValueNames() }
func (k *countedKey) Value(name string) (Value, error) {
	k.c.n.Add(1)
	return k.k.Value(name)
}
func (k *countedKey) ModTime() (time.Time, error) { k.c.n.Add(1); return k.k.ModTime() }
func (k *countedKey) Close() error                { return k.k.Close() }

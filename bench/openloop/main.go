// Command openloop sends HTTP/1.1 GET requests at a fixed rate whatever the responses do
// (open loop), and reports latency quantiles measured from each request's intended send time,
// so a slow response delays no later request's clock (no coordinated omission).
//
// It is one OS thread running one epoll loop over raw non-blocking sockets, woken by a timerfd
// at each request's due time: no Go scheduler hand-offs, no timer rounding to whole
// milliseconds (the Go runtime's own timers wait in epoll with millisecond timeouts), and
// almost no allocation. How late the loop got to each request against its schedule (its
// scheduling lag) is reported, so a run where the generator itself could not keep up is
// visible instead of being mistaken for the proxy's latency.
//
// Output: one JSON object on stdout. Latencies are milliseconds.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

type conn struct {
	fd         int
	connecting bool
	req        int // index of the request in flight, -1 if idle
	buf        []byte
	n          int
}

type result struct {
	Sent        int     `json:"sent"`
	OK          int     `json:"ok"`
	Non2xx      int     `json:"non2xx"`
	Failed      int     `json:"failed"`
	Rate        float64 `json:"rate"`
	P50         float64 `json:"p50"`
	P90         float64 `json:"p90"`
	P99         float64 `json:"p99"`
	P999        float64 `json:"p999"`
	Max         float64 `json:"max"`
	LagP50      float64 `json:"lagP50"`
	LagP99      float64 `json:"lagP99"`
	LagP999     float64 `json:"lagP999"`
	LagMax      float64 `json:"lagMax"`
	Connections int     `json:"connections"`
}

var base = time.Now()

func now() int64 { return int64(time.Since(base)) }

func fatal(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "openloop: "+format+"\n", a...)
	os.Exit(2)
}

type itimerspec struct{ interval, value syscall.Timespec }

func armTimer(tfd int, delay int64) {
	if delay < 1000 {
		delay = 1000 // zero would disarm it
	}
	spec := itimerspec{value: syscall.NsecToTimespec(delay)}
	if _, _, e := syscall.Syscall6(syscall.SYS_TIMERFD_SETTIME, uintptr(tfd), 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0); e != 0 {
		fatal("timerfd_settime: %v", e)
	}
}

func quantile(sorted []int64, q float64) float64 {
	if len(sorted) == 0 {
		return -1
	}
	i := int(q * float64(len(sorted)))
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return float64(sorted[i]) / 1e6
}

// parse reports whether buf holds one whole response, and its status. closeAfter is set when
// the server said it closes the connection; untilClose when the body runs to the close.
func parse(buf []byte) (complete bool, status int, closeAfter, untilClose bool, err error) {
	head := bytes.Index(buf, []byte("\r\n\r\n"))
	if head < 0 {
		if len(buf) > 32<<10 {
			return false, 0, false, false, fmt.Errorf("response head over 32 KiB")
		}
		return false, 0, false, false, nil
	}
	lines := bytes.Split(buf[:head], []byte("\r\n"))
	fields := bytes.SplitN(lines[0], []byte(" "), 3)
	if len(fields) < 2 || !bytes.HasPrefix(fields[0], []byte("HTTP/1.")) {
		return false, 0, false, false, fmt.Errorf("bad status line %q", lines[0])
	}
	status, err = strconv.Atoi(string(fields[1]))
	if err != nil {
		return false, 0, false, false, fmt.Errorf("bad status line %q", lines[0])
	}
	length, chunked := -1, false
	for _, line := range lines[1:] {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("content-length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return false, 0, false, false, fmt.Errorf("bad content-length %q", value)
			}
		case bytes.EqualFold(name, []byte("transfer-encoding")):
			chunked = bytes.Contains(bytes.ToLower(value), []byte("chunked"))
		case bytes.EqualFold(name, []byte("connection")):
			closeAfter = bytes.Contains(bytes.ToLower(value), []byte("close"))
		}
	}
	body := buf[head+4:]
	switch {
	case status == 204 || status == 304 || status/100 == 1:
		return true, status, closeAfter, false, nil
	case chunked:
		for {
			eol := bytes.Index(body, []byte("\r\n"))
			if eol < 0 {
				return false, status, closeAfter, false, nil
			}
			sizeText, _, _ := bytes.Cut(body[:eol], []byte(";"))
			size, perr := strconv.ParseInt(string(bytes.TrimSpace(sizeText)), 16, 64)
			if perr != nil || size < 0 {
				return false, 0, false, false, fmt.Errorf("bad chunk size %q", body[:eol])
			}
			body = body[eol+2:]
			if size == 0 {
				// Trailers (none expected) end with an empty line.
				if bytes.HasPrefix(body, []byte("\r\n")) || bytes.Contains(body, []byte("\r\n\r\n")) {
					return true, status, closeAfter, false, nil
				}
				return false, status, closeAfter, false, nil
			}
			if int64(len(body)) < size+2 {
				return false, status, closeAfter, false, nil
			}
			body = body[size+2:]
		}
	case length >= 0:
		return len(body) >= length, status, closeAfter, false, nil
	default:
		return false, status, true, true, nil
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:80", "host:port to send to (IPv4)")
	path := flag.String("path", "/", "request path")
	rate := flag.Float64("rate", 1000, "requests per second")
	duration := flag.Float64("duration", 8, "measured seconds")
	warmup := flag.Float64("warmup", 1, "unmeasured seconds first, on the same connections")
	maxConns := flag.Int("connections", 256, "most connections open at once; a request finding none free waits, and the wait counts")
	timeout := flag.Float64("timeout", 10, "seconds after the last send before requests still in flight count as failed")
	flag.Parse()

	runtime.GOMAXPROCS(1)
	runtime.LockOSThread()
	debug.SetGCPercent(-1) // everything is allocated up front; no collector pauses in the loop
	syscall.Syscall(syscall.SYS_PRCTL, 29 /* PR_SET_TIMERSLACK */, 1, 0)

	tcp, err := net.ResolveTCPAddr("tcp4", *addr)
	if err != nil {
		fatal("%v", err)
	}
	sa := &syscall.SockaddrInet4{Port: tcp.Port}
	copy(sa.Addr[:], tcp.IP.To4())
	request := []byte("GET " + *path + " HTTP/1.1\r\nHost: " + *addr + "\r\nUser-Agent: hostmesh-openloop\r\n\r\n")

	interval := float64(time.Second) / *rate
	skip := int(*warmup * *rate)
	total := skip + int(*duration**rate)
	due := func(i int) int64 { return int64(float64(i) * interval) }
	latency := make([]int64, total)
	lag := make([]int64, total)
	sentAt := make([]int64, total)
	outcome := make([]int8, total) // 0 pending, 1 ok, 2 non-2xx, 3 failed

	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		fatal("epoll_create1: %v", err)
	}
	tfdRaw, _, e := syscall.Syscall(syscall.SYS_TIMERFD_CREATE, 1 /* CLOCK_MONOTONIC */, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if e != 0 {
		fatal("timerfd_create: %v", e)
	}
	tfd := int(tfdRaw)
	if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, tfd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(tfd)}); err != nil {
		fatal("epoll_ctl timerfd: %v", err)
	}

	dialFailed := 0
	conns := map[int]*conn{}
	var idle []*conn
	opened, open := 0, 0
	queue := make([]int, 0, 1024) // due requests waiting for a connection
	inflight, next, finished := 0, 0, 0

	finish := func(c *conn, kind int8, t int64) {
		i := c.req
		if i < 0 {
			return
		}
		c.req = -1
		inflight--
		finished++
		outcome[i] = kind
		latency[i] = t - due(i)
	}
	drop := func(c *conn, t int64) {
		finish(c, 3, t)
		syscall.EpollCtl(ep, syscall.EPOLL_CTL_DEL, c.fd, nil)
		syscall.Close(c.fd)
		delete(conns, c.fd)
		open--
		if j := slices.Index(idle, c); j >= 0 {
			idle = slices.Delete(idle, j, j+1)
		}
	}
	send := func(c *conn, i int) {
		c.req = i
		c.n = 0
		inflight++
		sentAt[i] = now()
		if c.connecting {
			return // written once the connection is up
		}
		if n, err := syscall.Write(c.fd, request); err != nil || n != len(request) {
			drop(c, now())
		}
	}
	dial := func() *conn {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			fatal("socket: %v", err)
		}
		syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		c := &conn{fd: fd, req: -1, buf: make([]byte, 64<<10)}
		err = syscall.Connect(fd, sa)
		if err != nil && err != syscall.EINPROGRESS {
			if dialFailed == 0 {
				fmt.Fprintf(os.Stderr, "openloop: connect %s: %v\n", *addr, err)
			}
			syscall.Close(fd)
			return nil
		}
		c.connecting = err != nil
		conns[fd] = c
		opened++
		open++
		syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, fd, &syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLOUT | syscall.EPOLLRDHUP, Fd: int32(fd)})
		return c
	}
	dispatch := func() {
		for len(queue) > 0 {
			var c *conn
			if len(idle) > 0 {
				c = idle[len(idle)-1]
				idle = idle[:len(idle)-1]
			} else if open < *maxConns {
				if c = dial(); c == nil {
					dialFailed++
					i := queue[0]
					queue = queue[1:]
					inflight++
					finish(&conn{req: i}, 3, now())
					continue
				}
			} else {
				return
			}
			i := queue[0]
			queue = queue[1:]
			send(c, i)
		}
	}

	events := make([]syscall.EpollEvent, 256)
	start := now()
	base = base.Add(time.Duration(start)) // due(i) is now relative to the first send
	deadline := int64(-1)
	armTimer(tfd, 1)
	var tick [8]byte
	for finished < total {
		n, err := syscall.EpollWait(ep, events, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			fatal("epoll_wait: %v", err)
		}
		woke := now()
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if fd == tfd {
				syscall.Read(tfd, tick[:])
				continue
			}
			c := conns[fd]
			if c == nil {
				continue
			}
			if c.connecting {
				if ev.Events&(syscall.EPOLLOUT|syscall.EPOLLERR|syscall.EPOLLHUP) == 0 {
					continue
				}
				if soErr, _ := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ERROR); soErr != 0 || ev.Events&(syscall.EPOLLERR|syscall.EPOLLHUP) != 0 {
					drop(c, woke)
					continue
				}
				c.connecting = false
				syscall.EpollCtl(ep, syscall.EPOLL_CTL_MOD, fd, &syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(fd)})
				if c.req >= 0 {
					if n, err := syscall.Write(fd, request); err != nil || n != len(request) {
						drop(c, woke)
					}
				} else {
					idle = append(idle, c)
				}
				continue
			}
			if ev.Events&(syscall.EPOLLIN|syscall.EPOLLERR|syscall.EPOLLHUP|syscall.EPOLLRDHUP) == 0 {
				continue
			}
			m, err := syscall.Read(fd, c.buf[c.n:])
			if err == syscall.EAGAIN {
				continue
			}
			if m > 0 {
				c.n += m
			}
			eof := err != nil || m == 0
			if c.req < 0 {
				drop(c, woke) // the server spoke or closed while idle
				continue
			}
			complete, status, closeAfter, untilClose, perr := parse(c.buf[:c.n])
			if untilClose && eof {
				complete = true
			}
			if c.n == len(c.buf) && !complete {
				perr = fmt.Errorf("response over %d bytes", len(c.buf))
			}
			switch {
			case perr != nil:
				fmt.Fprintf(os.Stderr, "openloop: %v\n", perr)
				drop(c, woke)
			case complete:
				kind := int8(1)
				if status/100 != 2 {
					kind = 2
				}
				finish(c, kind, woke)
				if closeAfter || eof {
					drop(c, woke)
				} else {
					idle = append(idle, c)
				}
			case eof:
				drop(c, woke)
			}
		}
		t := now()
		for next < total && due(next) <= t {
			lag[next] = t - due(next)
			queue = append(queue, next)
			next++
		}
		dispatch()
		if next < total {
			armTimer(tfd, due(next)-now())
		} else {
			if deadline < 0 {
				deadline = due(total-1) + int64(*timeout*1e9)
			}
			if now() >= deadline {
				for _, c := range conns {
					finish(c, 3, now())
				}
				for _, i := range queue {
					outcome[i], latency[i] = 3, now()-due(i)
					finished++
				}
				break
			}
			armTimer(tfd, deadline-now())
		}
	}

	var r result
	var lat, lags []int64
	for i := skip; i < total; i++ {
		r.Sent++
		switch outcome[i] {
		case 1:
			r.OK++
		case 2:
			r.Non2xx++
		default:
			r.Failed++
			continue
		}
		lat = append(lat, latency[i])
		lags = append(lags, lag[i])
	}
	slices.Sort(lat)
	slices.Sort(lags)
	first, last, count := int64(-1), int64(0), 0
	for i := skip; i < total; i++ {
		if sentAt[i] > 0 {
			if first < 0 {
				first = sentAt[i]
			}
			last = sentAt[i]
			count++
		}
	}
	if count > 1 && last > first {
		r.Rate = float64(count-1) / (float64(last-first) / 1e9)
	}
	r.P50, r.P90, r.P99, r.P999 = quantile(lat, 0.5), quantile(lat, 0.9), quantile(lat, 0.99), quantile(lat, 0.999)
	r.Max = quantile(lat, 1)
	r.LagP50, r.LagP99, r.LagP999, r.LagMax = quantile(lags, 0.5), quantile(lags, 0.99), quantile(lags, 0.999), quantile(lags, 1)
	r.Connections = opened
	if dialFailed > 0 || r.Failed > 0 {
		fmt.Fprintf(os.Stderr, "openloop: %d failed (%d could not open a connection)\n", r.Failed, dialFailed)
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fatal("%v", err)
	}
}

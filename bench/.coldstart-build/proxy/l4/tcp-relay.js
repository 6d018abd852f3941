/**
 * Starts relaying; `onClosed` runs once, after both sockets have closed. Returns a function that
 * tears both down at once (drain deadline, shutdown).
 */
export function relay(client, upstream, timeouts, log, onClosed) {
    let open = 2;
    let upstreamPaused = false;
    let upstreamEnded = false;
    let writeBlocked = false;
    let readTimer;
    let writeTimer;
    // A cut stream is reset rather than ended, so neither peer mistakes it for a complete one.
    const abort = () => {
        if (!client.destroyed)
            client.resetAndDestroy();
        if (!upstream.destroyed)
            upstream.resetAndDestroy();
    };
    const sideClosed = () => {
        if (--open > 0)
            return;
        clearTimeout(readTimer);
        clearTimeout(writeTimer);
        onClosed();
    };
    const onError = (err) => {
        log.debug({ err: err.message }, 'tcp relay error, closing both sides');
        abort();
    };
    const onReadTimeout = () => {
        // A backend held back by a slow client is not idle; only its own silence counts.
        if (upstreamPaused) {
            readTimer.refresh();
            return;
        }
        if (upstreamEnded)
            return;
        log.debug({ timeoutMs: timeouts.readTimeoutMs }, 'tcp read timeout: backend sent nothing, closing');
        abort();
    };
    const onWriteTimeout = () => {
        if (!writeBlocked)
            return;
        log.debug({ timeoutMs: timeouts.writeTimeoutMs }, 'tcp write timeout: backend stopped reading, closing');
        abort();
    };
    if (timeouts.readTimeoutMs !== undefined)
        readTimer = setTimeout(onReadTimeout, timeouts.readTimeoutMs).unref();
    // client -> upstream
    client.on('data', (chunk) => {
        if (upstream.write(chunk))
            return;
        client.pause();
        writeBlocked = true;
        if (timeouts.writeTimeoutMs !== undefined) {
            if (writeTimer === undefined)
                writeTimer = setTimeout(onWriteTimeout, timeouts.writeTimeoutMs).unref();
            else
                writeTimer.refresh();
        }
    });
    upstream.on('drain', () => {
        writeBlocked = false;
        client.resume();
    });
    client.on('end', () => upstream.end());
    // upstream -> client
    upstream.on('data', (chunk) => {
        readTimer?.refresh();
        if (client.write(chunk))
            return;
        upstream.pause();
        upstreamPaused = true;
    });
    client.on('drain', () => {
        upstreamPaused = false;
        readTimer?.refresh();
        upstream.resume();
    });
    upstream.on('end', () => {
        upstreamEnded = true;
        clearTimeout(readTimer);
        client.end();
    });
    client.on('error', onError);
    upstream.on('error', onError);
    client.on('close', sideClosed);
    upstream.on('close', sideClosed);
    return abort;
}

export async function* streamBody(attempt, body) {
    const chunks = body.iterator({ destroyOnReturn: false });
    let finished = false;
    try {
        for (;;) {
            attempt.bodyWaitStart();
            const next = await chunks.next();
            attempt.bodyWaitEnd();
            if (next.done === true) {
                finished = true;
                return;
            }
            attempt.ex.bytesIn += next.value.length;
            attempt.writeWaitStart();
            yield next.value;
            attempt.writeWaitEnd();
        }
    }
    finally {
        attempt.bodyWaitEnd();
        if (!finished)
            await chunks.return?.();
    }
}

namespace ErrorHub.Notifications.Delivery;

/// <summary>
/// The SMTP connection's stream, letting the server send at most <see cref="MaxBytesPerTurn"/> bytes before the worker
/// writes again. An SMTP reply is a few lines (a TLS handshake a few certificates); something that pours bytes without
/// waiting for a command is no SMTP server, and MailKit would keep a reply line that never ends in memory, growing for
/// as long as the timeout lets it (gigabytes a minute over a fast link). Past the bound the read fails with an
/// <see cref="IOException"/> saying so: the mail waits for its next attempt, as on any broken connection.
/// </summary>
internal sealed class BoundedReplyStream(Stream inner) : Stream
{
    /// <summary>Far more than any reply or handshake, far less than anything that threatens the process's memory.</summary>
    internal const int MaxBytesPerTurn = 256 * 1024;

    private long _readThisTurn;

    public override bool CanRead => inner.CanRead;

    public override bool CanWrite => inner.CanWrite;

    public override bool CanSeek => false;

    public override bool CanTimeout => inner.CanTimeout;

    public override int ReadTimeout
    {
        get => inner.ReadTimeout;
        set => inner.ReadTimeout = value;
    }

    public override int WriteTimeout
    {
        get => inner.WriteTimeout;
        set => inner.WriteTimeout = value;
    }

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer) => Counted(inner.Read(buffer));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Counted(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _readThisTurn = 0;
        inner.Write(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _readThisTurn = 0;
        return inner.WriteAsync(buffer, cancellationToken);
    }

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private int Counted(int read)
    {
        _readThisTurn += read;
        if (_readThisTurn > MaxBytesPerTurn)
        {
            throw new IOException($"The SMTP server sent more than {MaxBytesPerTurn / 1024} KB without waiting for a command: it does not speak SMTP (ErrorHub:Notifications:Smtp:Host and Port).");
        }

        return read;
    }
}

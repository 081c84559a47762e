using System.Net;

namespace Worker.Providers;

/// <summary>
/// Bounds what a provider may send back, in every provider's HttpClient (so the OpenAI SDK's own buffering is bounded
/// too): a body over Providers:{name}:MaxResponseBytes fails the call as soon as that is known (Content-Length) or
/// read, and a compressed body, which the worker never asks for, is refused rather than inflated.
/// </summary>
internal sealed class ResponseBodyLimit(string provider, long maxBytes) : DelegatingHandler
{
    private static readonly HashSet<string> Compressions = new(StringComparer.OrdinalIgnoreCase)
    {
        "gzip", "x-gzip", "deflate", "br", "zstd", "compress", "x-compress",
    };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        Bound(await base.SendAsync(request, cancellationToken));

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken) =>
        Bound(base.Send(request, cancellationToken));

    private HttpResponseMessage Bound(HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        var headers = response.Content.Headers;
        if (headers.ContentEncoding.FirstOrDefault(Compressions.Contains) is { } encoding)
        {
            response.Dispose();
            throw new ResponseRefusedException(status, $"response body is {encoding}-encoded, which the worker never asks for; it was not inflated");
        }

        if (headers.ContentLength > maxBytes)
        {
            response.Dispose();
            throw TooLarge(status, $"Content-Length {headers.ContentLength}");
        }

        response.Content = new BoundedContent(response.Content, maxBytes, () => TooLarge(status, "read"));
        return response;
    }

    private ResponseRefusedException TooLarge(int status, string seen) =>
        new(status, $"response body is over {ProvidersOptions.Section}:{provider}:{nameof(ProviderOptions.MaxResponseBytes)} ({maxBytes} bytes; {seen})");

    /// <summary>The response's content with its headers, read through a <see cref="BoundedStream"/>.</summary>
    private sealed class BoundedContent : HttpContent
    {
        private readonly HttpContent _inner;
        private readonly long _maxBytes;
        private readonly Func<Exception> _tooLarge;

        public BoundedContent(HttpContent inner, long maxBytes, Func<Exception> tooLarge)
        {
            _inner = inner;
            _maxBytes = maxBytes;
            _tooLarge = tooLarge;
            foreach (var (name, values) in inner.Headers)
                Headers.TryAddWithoutValidation(name, values);
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await using var source = await CreateContentReadStreamAsync(cancellationToken);
            await source.CopyToAsync(stream, cancellationToken);
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            using var source = CreateContentReadStream(cancellationToken);
            source.CopyTo(stream);
        }

        protected override async Task<Stream> CreateContentReadStreamAsync(CancellationToken cancellationToken) =>
            new BoundedStream(await _inner.ReadAsStreamAsync(cancellationToken), _maxBytes, _tooLarge);

        protected override Task<Stream> CreateContentReadStreamAsync() => CreateContentReadStreamAsync(CancellationToken.None);

        protected override Stream CreateContentReadStream(CancellationToken cancellationToken) =>
            new BoundedStream(_inner.ReadAsStream(cancellationToken), _maxBytes, _tooLarge);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                _inner.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>A read-only stream that throws once more than <c>maxBytes</c> have come through it.</summary>
    private sealed class BoundedStream(Stream inner, long maxBytes, Func<Exception> tooLarge) : Stream
    {
        private long _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _read;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer) => Counted(inner.Read(buffer[..Allowed(buffer.Length)]));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
            Counted(await inner.ReadAsync(buffer[..Allowed(buffer.Length)], cancellationToken));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override ValueTask DisposeAsync() => inner.DisposeAsync();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                inner.Dispose();
            base.Dispose(disposing);
        }

        // One byte past the bound is enough to know; no read ever holds more.
        private int Allowed(int requested) => (int)Math.Min(requested, maxBytes - _read + 1);

        private int Counted(int read)
        {
            _read += read;
            return _read > maxBytes ? throw tooLarge() : read;
        }
    }
}

/// <summary>
/// The worker refused a provider's response body (<see cref="ResponseBodyLimit"/>). A refused 2xx is
/// <see cref="ErrorClass.BadOutput"/>; an error status keeps its own class, so a 503 with a huge page is still a 503.
/// </summary>
internal sealed class ResponseRefusedException(int status, string message) : Exception(message)
{
    public int Status => status;

    public ProviderFailure ToFailure() =>
        new(Status is >= 200 and < 300 ? ErrorClass.BadOutput : FailureText.ClassifyStatus(Status), $"HTTP {Status}: {Message}", Status);

    /// <summary>This exception in <paramref name="exception"/> or its inner exceptions (an SDK may wrap it).</summary>
    public static ResponseRefusedException? In(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is ResponseRefusedException refused)
                return refused;
        }

        return null;
    }
}

using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging.Abstractions;
using Worker.Chain;
using Worker.Contracts;
using Worker.Providers;
using Worker.Providers.Gemini;
using Worker.Providers.OpenAI;
using static Worker.Tests.Providers.StubHandler;

namespace Worker.Tests.Providers;

/// <summary>Both providers through <see cref="ResponseBodyLimit"/>, as their named HttpClients are built.</summary>
public class ResponseBodyLimitTests
{
    private const long Limit = 4_096;

    private static readonly ProviderRequest Request = new("model-1", [new ChatMessage("user", "Hi")], null, null);

    private static readonly Dictionary<string, string> Answers = new()
    {
        ["gemini"] = """{"candidates":[{"content":{"parts":[{"text":"Hello"}],"role":"model"},"finishReason":"STOP"}]}""",
        ["openai"] = """{"model":"model-1","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}]}""",
    };

    public static TheoryData<string> Kinds => ["gemini", "openai"];

    private static ICompletionProvider Provider(string kind, StubHandler stub, long limit = Limit)
    {
        var http = new HttpClient(new ResponseBodyLimit(kind, limit) { InnerHandler = stub }) { Timeout = Timeout.InfiniteTimeSpan };
        return kind == "gemini"
            ? new GeminiProvider(kind, new ProviderOptions { Kind = ProviderKind.Gemini, BaseUrl = new Uri("https://gemini.test"), ApiKey = "k" }, http,
                TimeProvider.System)
            : new OpenAIProvider(kind, new ProviderOptions { Kind = ProviderKind.OpenAI, BaseUrl = new Uri("https://openai.test/v1"), ApiKey = "k" }, http,
                TimeProvider.System, NullLogger.Instance);
    }

    private static async Task<ProviderFailure> Failure(string kind, StubHandler stub, long limit = Limit)
    {
        var failure = Assert.IsType<ProviderFailure>(await Provider(kind, stub, limit).CompleteAsync(Request, CancellationToken.None));
        Assert.Equal(1, stub.Calls);
        return failure;
    }

    /// <summary>The provider's answer followed by whitespace, so it would parse if it were read whole.</summary>
    private static string Padded(string kind, int length) => Answers[kind] + new string(' ', length - Answers[kind].Length);

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_body_within_the_limit_is_read_as_before(string kind)
    {
        var stub = new StubHandler(() => JsonResponse(200, Padded(kind, (int)Limit)));

        var answer = Assert.IsType<ProviderSuccess>(await Provider(kind, stub).CompleteAsync(Request, CancellationToken.None));

        Assert.Equal("Hello", answer.Text);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_body_over_the_limit_fails_as_bad_output_naming_the_limit(string kind)
    {
        var failure = await Failure(kind, new StubHandler(() => JsonResponse(200, Padded(kind, (int)Limit + 1))));

        Assert.Equal((ErrorClass.BadOutput, 200), (failure.Class, failure.HttpStatus));
        Assert.Equal($"HTTP 200: response body is over Providers:{kind}:MaxResponseBytes (4096 bytes; Content-Length 4097)", failure.Detail);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task An_endless_body_without_a_length_fails_at_the_limit_and_is_never_read_further(string kind)
    {
        var endless = new EndlessStream();
        var stub = new StubHandler(() => new HttpResponseMessage(HttpStatusCode.OK)
        {
            Content = new StreamContent(endless) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        });

        var failure = await Failure(kind, stub);

        Assert.Equal(ErrorClass.BadOutput, failure.Class);
        Assert.Contains($"Providers:{kind}:MaxResponseBytes (4096 bytes; read)", failure.Detail);
        Assert.Equal(Limit + 1, endless.Served);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_gzip_bomb_is_refused_without_being_inflated(string kind)
    {
        // 16 KiB on the wire, 16 MiB inflated: past the default limit, which the small body itself is far below.
        var bomb = Gzip(new byte[16 * 1024 * 1024]);
        Assert.True(bomb.Length < 64 * 1024);
        var stub = new StubHandler(() => new HttpResponseMessage(HttpStatusCode.OK)
        {
            Content = new ByteArrayContent(bomb) { Headers = { ContentType = new MediaTypeHeaderValue("application/json"), ContentEncoding = { "gzip" } } },
        });

        var failure = await Failure(kind, stub, ProviderOptions.DefaultMaxResponseBytes);

        Assert.Equal((ErrorClass.BadOutput, 200), (failure.Class, failure.HttpStatus));
        Assert.Equal("HTTP 200: response body is gzip-encoded, which the worker never asks for; it was not inflated", failure.Detail);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task An_error_status_with_a_body_over_the_limit_keeps_the_class_of_its_status(string kind)
    {
        var failure = await Failure(kind, new StubHandler(() => JsonResponse(503, new string('x', 10_000))));

        Assert.Equal((ErrorClass.Server, 503), (failure.Class, failure.HttpStatus));
        Assert.Contains("MaxResponseBytes", failure.Detail);
    }

    private static byte[] Gzip(byte[] data)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.SmallestSize))
            gzip.Write(data);
        return buffer.ToArray();
    }

    /// <summary>A body that never ends (no Content-Length), counting what was taken from it.</summary>
    private sealed class EndlessStream : Stream
    {
        public long Served { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => Served;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            buffer.Fill((byte)' ');
            Served += buffer.Length;
            return buffer.Length;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken) => ValueTask.FromResult(Read(buffer.Span));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

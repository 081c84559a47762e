using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using Npgsql;
using RabbitMQ.Client;
using Worker.Contracts;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.Persistence;
using Worker.Requests;

namespace Worker.IntegrationTests.BadInput;

/// <summary>
/// The bad-input corpus (BadInput/corpus/*.json, documented in the README): every kind of malformed or invalid message,
/// published raw over AMQP as a producer in any language could, gets a precise outcome (a CompletionFailed
/// invalid_request naming the field, or a dead letter with its reason), no provider is called for it, and the worker
/// answers the next request as usual.
/// </summary>
/// <remarks>
/// A corpus file holds <c>description</c>, <c>contentType</c>, <c>body</c> (a string sent as it is, or JSON), optionally
/// <c>before</c> (valid requests sent first, answered before the body is sent) and <c>expect</c>: <c>{"outcome":
/// "invalid_request", "field": "..."}</c> (the error names it) or <c>{"outcome": "parked", "reason": "..."}</c>.
/// Placeholders: <c>{{requestId}}</c> (a fresh id per run), <c>{{marker}}</c> (a unique text, sent as conversationId and
/// as the AMQP header X-Corpus-Marker to find the outcome), <c>{{repeat:c:n}}</c> (n times the character c).
/// </remarks>
[Collection(PipelineCollection.Name)]
public sealed partial class BadInputCorpusTests(PipelineFixture fixture) : IAsyncLifetime
{
    private const string RequestExchange = "Worker.Contracts:CompletionRequested";
    private readonly NpgsqlDataSource _db = NpgsqlDataSource.Create(TestEnvironment.Postgres);
    private RawAmqp _amqp = null!;
    private ChannelReader<(string Body, IReadOnlyBasicProperties Properties)> _results = null!;

    public static TheoryData<string> Corpus()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "BadInput", "corpus"), "*.json").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(file));
        return data;
    }

    public async Task InitializeAsync()
    {
        fixture.Sim.Clear();
        _amqp = await RawAmqp.ConnectAsync();
        _results = await _amqp.SubscribeAsync("Worker.Contracts:CompletionSucceeded", "Worker.Contracts:CompletionFailed");
    }

    [Theory]
    [MemberData(nameof(Corpus))]
    public async Task Bad_input_gets_its_precise_outcome_without_a_provider_call_and_the_worker_keeps_serving(string file)
    {
        var entry = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "BadInput", "corpus", file)))!;
        var requestId = Guid.NewGuid();
        var marker = $"corpus-{Path.GetFileNameWithoutExtension(file)}-{Guid.NewGuid():N}";
        var contentType = (string)entry["contentType"]!;
        var headers = new Dictionary<string, object?> { ["X-Corpus-Marker"] = marker };
        var expect = entry["expect"]!;

        foreach (var before in entry["before"]?.AsArray() ?? [])
        {
            await _amqp.PublishAsync(RequestExchange, "", Fill(before!.ToJsonString(), requestId, marker), "application/json", headers);
            var (first, _) = await NextResultAsync(marker);
            Assert.NotNull(first["text"]);
        }

        var callsBefore = fixture.Sim.GetCounters().Total;
        var body = entry["body"]!.GetValueKind() == JsonValueKind.String ? (string)entry["body"]! : entry["body"]!.ToJsonString();
        await _amqp.PublishAsync(RequestExchange, "", Fill(body, requestId, marker), contentType, headers);

        switch ((string)expect["outcome"]!)
        {
            case "invalid_request":
                // A body with nothing to correlate on (no conversationId) is answered with the all-zero request id and no conversation.
                var (failed, messageId) = await NextResultAsync((string?)expect["correlate"] == "no-id" ? null : marker);
                Assert.Equal(FailureReasons.InvalidRequest, (string?)failed["reason"]);
                Assert.Contains((string)expect["field"]!, (string)failed["error"]!);
                Assert.Equal(0, (int)failed["attempts"]!);
                if (entry["before"] is not null)
                {
                    // A refusal of a reused id never carries the id of the request's result, and leaves the stored request alone.
                    Assert.NotEqual(RequestResult.MessageId(requestId), messageId);
                    var row = await AuditDatabase.FindAsync(_db, requestId);
                    Assert.Equal(RequestStatus.Succeeded, row!.Status);
                    Assert.Contains("the first request", row.Result);
                }

                break;
            case "parked":
                var parked = await WaitForDeadLetterAsync(marker);
                Assert.Equal(("parked", (string)expect["reason"]!), (parked.Status, parked.Reason));
                break;
            default:
                throw new InvalidOperationException($"{file}: unknown expected outcome {expect["outcome"]}");
        }

        Assert.Equal(callsBefore, fixture.Sim.GetCounters().Total);
        var next = await fixture.Producer.RequestAsync<CompletionSucceeded>(TestProducer.NewRequest($"after {marker}"));
        Assert.Equal("gemini", next.Provider);
    }

    private static string Fill(string text, Guid requestId, string marker) =>
        Repeat().Replace(text.Replace("{{requestId}}", requestId.ToString(), StringComparison.Ordinal).Replace("{{marker}}", marker, StringComparison.Ordinal),
            m => new string(m.Groups[1].Value[0], int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>
    /// The next result (envelope's <c>message</c>) whose conversationId is <paramref name="marker"/> (null: a result for the
    /// all-zero request id without a conversation), and its message id.
    /// </summary>
    private async Task<(JsonNode Message, Guid MessageId)> NextResultAsync(string? marker)
    {
        using var timeout = new CancellationTokenSource(TestEnvironment.ResultTimeout);
        while (true)
        {
            var (body, _) = await _results.ReadAsync(timeout.Token);
            var message = JsonNode.Parse(body)!["message"]!;
            if ((string?)message["conversationId"] == marker && (marker is not null || (Guid)message["requestId"]! == Guid.Empty))
                return (message, (Guid)JsonNode.Parse(body)!["messageId"]!);
        }
    }

    private async Task<(string Source, string Status, string Reason)> WaitForDeadLetterAsync(string marker)
    {
        var found = await Eventually.ValueAsync(async () =>
        {
            await using var command = _db.CreateCommand("SELECT source, status, reason FROM dead_letters WHERE headers->>'X-Corpus-Marker' = $1");
            command.Parameters.Add(new NpgsqlParameter { Value = marker });
            await using var reader = await command.ExecuteReaderAsync();
            return await reader.ReadAsync() ? (reader.GetString(0), reader.GetString(1), reader.GetString(2)) : ((string, string, string)?)null;
        }, row => row is not null, TestEnvironment.ResultTimeout, $"a dead letter marked {marker}");
        return found!.Value;
    }

    [GeneratedRegex(@"\{\{repeat:(.):(\d+)\}\}")]
    private static partial Regex Repeat();

    public async Task DisposeAsync()
    {
        await _amqp.DisposeAsync();
        await _db.DisposeAsync();
        fixture.Sim.Clear();
    }
}

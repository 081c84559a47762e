using System.Text.Json;
using Npgsql;
using Worker.Contracts;
using Worker.IntegrationTests.DeadLetters;
using Worker.IntegrationTests.Infrastructure;

namespace Worker.IntegrationTests.Pipeline;

/// <summary>
/// What a producer outside this repository sees: exchange names, JSON field names, content types, and what happens
/// to a message the worker cannot read.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class WireInteropTests(PipelineFixture fixture)
{
    private const string RequestExchange = "Worker.Contracts:CompletionRequested";

    [Fact]
    public async Task Plain_json_request_from_a_foreign_producer_gets_an_enveloped_result_with_camel_case_fields()
    {
        fixture.Sim.Clear();
        await using var amqp = await RawAmqp.ConnectAsync();
        var results = await amqp.SubscribeAsync("Worker.Contracts:CompletionSucceeded", "Worker.Contracts:CompletionFailed");
        var requestId = Guid.NewGuid();
        var json = $$$"""
            {"requestId":"{{{requestId}}}","conversationId":"lead-42",
             "messages":[{"role":"user","content":"Write a one-line intro email."}],
             "maxOutputTokens":200,"temperature":0.3,"metadata":{"crm":"hubspot"},
             "route":{"complexity":"trivial","quality":"draft","maxCostUsd":0.5},"tenant":"acme"}
            """;

        await amqp.PublishAsync(RequestExchange, "", json, "application/json");

        JsonElement result;
        do
        {
            var (body, properties) = await results.ReadAsync().AsTask().WaitAsync(TestEnvironment.ResultTimeout);
            Assert.Equal("application/vnd.masstransit+json", properties.ContentType);
            result = JsonDocument.Parse(body).RootElement;
        }
        while (result.GetProperty("message").GetProperty("requestId").GetGuid() != requestId);

        Assert.Contains("urn:message:Worker.Contracts:CompletionSucceeded", result.GetProperty("messageType").EnumerateArray().Select(e => e.GetString()));
        var message = result.GetProperty("message");
        Assert.Equal("lead-42", message.GetProperty("conversationId").GetString());
        Assert.Equal("gemini", message.GetProperty("provider").GetString());
        Assert.False(message.GetProperty("fallbackUsed").GetBoolean());
        Assert.Equal(1, message.GetProperty("attempts").GetInt32());
        Assert.Equal("hubspot", message.GetProperty("metadata").GetProperty("crm").GetString());
        Assert.StartsWith("Simulated reply from gemini", message.GetProperty("text").GetString());
        // The routing fields: plain JSON numbers and objects, readable from any language. (Trivial work: the fast chain,
        // whose models only healthy tests call, so live ranking keeps its order here.)
        Assert.Equal("trivial", message.GetProperty("route").GetProperty("tier").GetString());
        Assert.Equal("gemini/gemini-2.5-flash", message.GetProperty("route").GetProperty("candidates")[0].GetString());
        Assert.Equal(JsonValueKind.Number, message.GetProperty("costUsd").ValueKind);
        Assert.True(message.GetProperty("costUsd").GetDouble() > 0);
        // The result's message id is derived from the request id, so a consumer can drop a duplicate.
        Assert.Equal(Worker.Requests.RequestResult.MessageId(requestId), result.GetProperty("messageId").GetGuid());
    }

    [Fact]
    public async Task Undeserializable_message_is_parked_from_the_error_queue_with_its_reason_and_the_next_request_is_served()
    {
        fixture.Sim.Clear();
        await using var amqp = await RawAmqp.ConnectAsync();
        await using var db = NpgsqlDataSource.Create(TestEnvironment.Postgres);
        var garbage = $"this is {{ not json {Guid.NewGuid():N}";

        await amqp.PublishAsync(RequestExchange, "", garbage, "application/vnd.masstransit+json");

        // MassTransit moves it to completion-requests_error with its fault headers; the worker reads that queue into
        // the dead-letter store, so it is kept (not only in a queue) with the reason.
        var parked = await DeadLetterDb.WaitForBodyAsync(db, garbage);
        Assert.Equal(("error_queue", "parked", "undeserializable"), (parked["source"], parked["status"], parked["reason"]));
        Assert.Contains("Json", (string)parked["exception_type"]!);
        Assert.False(string.IsNullOrWhiteSpace((string?)parked["error"]));
        Assert.Equal("application/vnd.masstransit+json", parked["content_type"]);
        Assert.Contains("MT-Fault-Message", (string)parked["headers"]!);
        Assert.Null(parked["message"]);
        Assert.Equal(0, fixture.Sim.GetCounters().Total);

        var next = await fixture.Producer.RequestAsync<CompletionSucceeded>(TestProducer.NewRequest());
        Assert.Equal("gemini", next.Provider);
    }
}

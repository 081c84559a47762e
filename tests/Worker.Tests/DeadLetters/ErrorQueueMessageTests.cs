using System.Text;
using System.Text.Json;
using Worker.DeadLetters;

namespace Worker.Tests.DeadLetters;

public class ErrorQueueMessageTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
    private static readonly Guid RequestId = Guid.Parse("5f0c8a52-7d0e-4c1b-9d56-2f3f0b8f3c2e");

    private static readonly string Plain = $$"""
        {"requestId":"{{RequestId}}","conversationId":"lead-42","messages":[{"role":"user","content":"Hi"}],"chain":"openai-only"}
        """;

    private static Dictionary<string, object?> FaultHeaders(string exceptionType, string? stackTrace = null) => new()
    {
        ["MT-Reason"] = "fault"u8.ToArray(),
        ["MT-Fault-Message"] = Encoding.UTF8.GetBytes("Something broke"),
        ["MT-Fault-ExceptionType"] = Encoding.UTF8.GetBytes(exceptionType),
        ["MT-Fault-StackTrace"] = Encoding.UTF8.GetBytes(stackTrace ?? "   at Worker.Somewhere()"),
        ["MT-Fault-Timestamp"] = "2026-11-21T11:59:58.1234567Z"u8.ToArray(),
        ["MT-Fault-RetryCount"] = 0,
    };

    private static DeadLetterRow Read(string body, IDictionary<string, object?>? headers, string? messageId = "m-1", string contentType = "application/json") =>
        ErrorQueueMessage.ToDeadLetter(Encoding.UTF8.GetBytes(body), contentType, messageId, headers, Now);

    [Theory]
    [InlineData("MassTransit.SerializationException", "undeserializable")]
    [InlineData("System.Text.Json.JsonReaderException", "undeserializable")]
    [InlineData("System.Text.Json.JsonException", "undeserializable")]
    [InlineData("MassTransit.MessageReturnedException", "result_returned")]
    [InlineData("System.InvalidOperationException", "consumer_fault")]
    [InlineData(null, "consumer_fault")]
    public void The_reason_comes_from_the_fault_exception_type(string? exceptionType, string reason) =>
        Assert.Equal(reason, ErrorQueueMessage.Classify(exceptionType));

    [Theory]
    [InlineData("System.FormatException", "   at System.Text.Json.ThrowHelper.ThrowFormatException(DataType dataType)", "undeserializable")]
    [InlineData("System.InvalidOperationException", "   at System.Text.Json.ThrowHelper.ThrowInvalidOperationException_ExpectedNumber(JsonTokenType tokenType)", "undeserializable")]
    [InlineData("System.InvalidOperationException", "   at MassTransit.Serialization.SystemTextJsonSerializerContext.TryGetMessage[T](T& message)", "undeserializable")]
    [InlineData("System.InvalidOperationException", "   at Worker.Messaging.CompletionRequestedConsumer.Consume(...)\n   at System.Text.Json.X()", "consumer_fault")]
    public void A_value_of_the_wrong_type_is_recognised_as_undeserializable_by_the_top_frame(string exceptionType, string stackTrace, string reason) =>
        Assert.Equal(reason, ErrorQueueMessage.Classify(exceptionType, stackTrace));

    [Fact]
    public void A_message_from_the_skipped_queue_is_an_unrecognized_message_type_naming_its_types()
    {
        var body = """{"messageId":"m-9","messageType":["urn:message:Acme:SomethingElse"],"message":{"note":"x"}}""";
        var row = ErrorQueueMessage.ToDeadLetter(Encoding.UTF8.GetBytes(body), "application/vnd.masstransit+json", "m-9",
            new Dictionary<string, object?> { ["MT-Reason"] = "dead-letter"u8.ToArray() }, Now, skipped: true);

        Assert.Equal((DeadLetterSource.SkippedQueue, ErrorQueueReasons.UnrecognizedMessageType), (row.Source, row.Reason));
        Assert.Contains("urn:message:Acme:SomethingElse", row.Error);
        Assert.Null(row.Message);
    }

    [Fact]
    public void Fault_headers_become_columns_and_the_body_is_kept_as_text()
    {
        var row = Read("this is { not json", FaultHeaders("MassTransit.SerializationException"), contentType: "application/vnd.masstransit+json");

        Assert.Equal((DeadLetterSource.ErrorQueue, DeadLetterStatus.Parked, ErrorQueueReasons.Undeserializable), (row.Source, row.Status, row.Reason));
        Assert.Equal(("MassTransit.SerializationException", "Something broke"), (row.ExceptionType, row.Error));
        Assert.Equal("   at Worker.Somewhere()", row.StackTrace);
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 11, 59, 58, TimeSpan.Zero).AddTicks(1234567), row.FaultedAt);
        Assert.Equal(("this is { not json", "application/vnd.masstransit+json"), (row.Body, row.ContentType));
        Assert.Null(row.Message);
        Assert.Null(row.RequestId);
        Assert.Equal((Now, Now, 1), (row.FirstParkedAt, row.LastParkedAt, row.ParkCount));
        Assert.Equal(DeadLetterGroups.Key(ErrorQueueReasons.Undeserializable, null, null, null, "MassTransit.SerializationException"), row.GroupKey);

        var headers = JsonSerializer.Deserialize<Dictionary<string, string>>(row.Headers!)!;
        Assert.Equal(("fault", "0"), (headers["MT-Reason"], headers["MT-Fault-RetryCount"]));
        // Kept once, trimmed, in its own column.
        Assert.False(headers.ContainsKey("MT-Fault-StackTrace"));
    }

    [Fact]
    public void A_long_stack_trace_is_trimmed()
    {
        var row = Read("x", FaultHeaders("System.Exception", new string('s', 10_000)));
        Assert.Equal(ErrorQueueMessage.StackTraceLength, row.StackTrace!.Length);
    }

    [Fact]
    public void A_plain_json_request_is_kept_as_the_message_a_replay_sends()
    {
        var row = Read(Plain, FaultHeaders("System.InvalidOperationException"));

        Assert.Equal(RequestId, row.RequestId);
        Assert.Equal("openai-only", row.Chain);
        using var message = JsonDocument.Parse(row.Message!);
        Assert.Equal("lead-42", message.RootElement.GetProperty("conversationId").GetString());
        Assert.Equal("Hi", message.RootElement.GetProperty("messages")[0].GetProperty("content").GetString());
    }

    [Fact]
    public void An_enveloped_request_is_read_from_under_message_and_a_missing_chain_is_the_default()
    {
        var envelope = $$$"""
            {"messageId":"0b7d4a8e-2f65-4f4e-9d5e-1d1f2f6c9a11","messageType":["urn:message:Worker.Contracts:CompletionRequested"],
             "message":{"requestId":"{{{RequestId}}}","messages":[{"role":"user","content":"Hi"}]}}
            """;

        var row = Read(envelope, FaultHeaders("MassTransit.MessageReturnedException"));

        Assert.Equal((RequestId, "default", ErrorQueueReasons.ResultReturned), (row.RequestId, row.Chain, row.Reason));
        Assert.NotNull(row.Message);
    }

    [Theory]
    [InlineData("""{"requestId":"00000000-0000-0000-0000-000000000000","messages":[{"role":"user","content":"Hi"}]}""")]
    [InlineData("""{"requestId":"5f0c8a52-7d0e-4c1b-9d56-2f3f0b8f3c2e"}""")]
    [InlineData("""{"message": 42}""")]
    [InlineData("[]")]
    [InlineData("\"text\"")]
    public void A_body_without_a_usable_request_has_nothing_to_replay(string body) => Assert.Null(Read(body, FaultHeaders("System.Exception")).Message);

    [Fact]
    public void The_same_message_seen_twice_gets_the_same_id_which_is_never_its_request_id()
    {
        var first = Read(Plain, FaultHeaders("System.Exception"), messageId: "m-7");
        var again = Read(Plain, FaultHeaders("System.Exception"), messageId: "m-7");
        var other = Read(Plain, FaultHeaders("System.Exception"), messageId: "m-8");

        Assert.Equal(first.Id, again.Id);
        Assert.NotEqual(first.Id, other.Id);
        Assert.NotEqual(RequestId, first.Id);
    }

    [Fact]
    public void Without_a_message_id_the_body_and_fault_time_identify_it()
    {
        Assert.Equal(Read("x", FaultHeaders("E"), messageId: null).Id, Read("x", FaultHeaders("E"), messageId: null).Id);
        Assert.NotEqual(Read("x", FaultHeaders("E"), messageId: null).Id, Read("y", FaultHeaders("E"), messageId: null).Id);
    }

    [Fact]
    public void Nul_characters_and_invalid_utf8_never_make_the_row_unwritable()
    {
        var row = ErrorQueueMessage.ToDeadLetter([0x61, 0x00, 0xFF, 0x62], null, null, null, Now);

        Assert.DoesNotContain('\0', row.Body!);
        Assert.Equal((ErrorQueueReasons.ConsumerFault, "moved to the error queue without a fault message"), (row.Reason, row.Error));
    }
}

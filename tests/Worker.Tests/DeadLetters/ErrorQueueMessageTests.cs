using System.Text;
using System.Text.Json;
using Worker.DeadLetters;
using Worker.Persistence;

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
    public void Nul_characters_never_make_the_row_unwritable()
    {
        var row = ErrorQueueMessage.ToDeadLetter([0x61, 0x00, 0x62], null, null, null, Now);

        Assert.Equal("a\uFFFDb", row.Body);
        Assert.Equal((ErrorQueueReasons.ConsumerFault, "moved to the error queue without a fault message"), (row.Reason, row.Error));
    }

    [Theory]
    [InlineData("this is { not json")]
    [InlineData("{\"requestId\": \"not-a-guid\"")]
    public void A_body_that_is_not_json_is_kept_whole_with_the_reason_masstransit_gave(string body)
    {
        var row = Read(body, FaultHeaders("System.Text.Json.JsonReaderException"));

        Assert.Equal((ErrorQueueReasons.Undeserializable, body), (row.Reason, row.Body));
    }

    [Fact]
    public void Json_nested_deeper_than_the_reader_allows_is_kept_whole()
    {
        var body = new string('[', 10_000) + new string(']', 10_000);

        var row = Read(body, FaultHeaders("MassTransit.SerializationException"));

        Assert.Equal((ErrorQueueReasons.Undeserializable, body), (row.Reason, row.Body));
        Assert.Null(row.Message);
    }

    [Fact]
    public void A_null_inside_messages_is_unreadable_and_kept_raw_with_its_headers()
    {
        var body = $$"""{"requestId":"{{RequestId}}","messages":[{"role":"user","content":"Hi"},null]}""";

        var row = Read(body, FaultHeaders("System.InvalidOperationException"), messageId: "m-null");

        AssertUnreadable(row, "messages[1] is null");
        Assert.Equal(body, row.Body);
        Assert.Contains($"all {Encoding.UTF8.GetByteCount(body)} bytes", row.Error);
        Assert.Null(row.Message);
        Assert.Null(row.RequestId);
        Assert.Equal("System.InvalidOperationException", row.ExceptionType);
        Assert.Equal("Something broke", JsonSerializer.Deserialize<Dictionary<string, string>>(row.Headers!)!["MT-Fault-Message"]);
        Assert.Equal(Read(Plain, FaultHeaders("E"), messageId: "m-null").Id, row.Id);
    }

    [Fact]
    public void Header_keys_that_collide_once_cleaned_are_unreadable_and_every_value_is_kept()
    {
        var headers = FaultHeaders("System.InvalidOperationException");
        headers["X-Tenant\0"] = "a"u8.ToArray();
        headers["X-Tenant\uFFFD"] = "b"u8.ToArray();

        var row = Read(Plain, headers);

        AssertUnreadable(row, "X-Tenant\uFFFD");
        Assert.Equal(Plain, row.Body);
        var kept = JsonSerializer.Deserialize<Dictionary<string, string>>(row.Headers!)!;
        Assert.Equal(["a", "b"], new[] { kept["X-Tenant\uFFFD"], kept["X-Tenant\uFFFD (2)"] }.Order());
        Assert.DoesNotContain(kept.Keys, k => k.Contains('\0'));
    }

    [Fact]
    public void A_body_that_is_not_utf8_is_unreadable_and_kept_exactly_as_base64()
    {
        byte[] body = [0x7B, 0x00, 0xFF, 0xFE, 0x7D];

        var row = ErrorQueueMessage.ToDeadLetter(body, "application/octet-stream", "m-bin", FaultHeaders("MassTransit.SerializationException"), Now);

        AssertUnreadable(row, "not UTF-8");
        Assert.Contains("all 5 bytes of the body, as base64", row.Error);
        Assert.Equal(body, Convert.FromBase64String(row.Body!));
        Assert.Equal("application/octet-stream", row.ContentType);
    }

    [Fact]
    public void A_body_over_the_limit_is_unreadable_and_its_first_64_KiB_are_kept_with_the_size()
    {
        var body = Encoding.UTF8.GetBytes(Plain + new string(' ', 100_000));

        var row = ErrorQueueMessage.ToDeadLetter(body, "application/json", "m-big", FaultHeaders("E"), Now, maxBodyBytes: 100_000);

        AssertUnreadable(row, $"the body of {body.Length} bytes is over DeadLetters:MaxErrorBodyBytes (100000)");
        Assert.Contains($"the first 65536 of {body.Length} bytes of the body, as UTF-8 text", row.Error);
        Assert.Equal(Encoding.UTF8.GetString(body, 0, ErrorQueueMessage.UnreadableBodyBytes), row.Body);
        Assert.Null(row.Message);
    }

    [Fact]
    public void A_cut_inside_a_character_leaves_the_partial_character_out()
    {
        // 'é' is two bytes: 65,535 of them end mid-character at the 64 KiB bound.
        var body = Encoding.UTF8.GetBytes("x" + new string('é', 50_000));

        var row = ErrorQueueMessage.ToDeadLetter(body, null, "m-cut", null, Now, maxBodyBytes: ErrorQueueMessage.UnreadableBodyBytes);

        Assert.Equal(ErrorQueueReasons.Unreadable, row.Reason);
        Assert.Equal("x" + new string('é', 32_767), row.Body);
        Assert.Contains($"the first 65535 of {body.Length} bytes", row.Error);
    }

    [Fact]
    public void Headers_that_cannot_be_turned_into_text_are_left_out_of_an_unreadable_row()
    {
        var headers = FaultHeaders("E");
        headers["X-Odd"] = new Unprintable();

        var row = Read(Plain, headers);

        AssertUnreadable(row, "ToString refused");
        Assert.Null(row.Headers);
        Assert.Equal(Plain, row.Body);
    }

    [Fact]
    public void A_bare_row_keeps_only_the_id_and_the_ingesters_own_values()
    {
        var unreadable = Read("x", FaultHeaders("E"), messageId: "m-bare");

        var bare = ErrorQueueMessage.Bare(unreadable, "PostgreSQL refused its row (PostgresException: 54000)");

        Assert.Equal((unreadable.Id, ErrorQueueReasons.Unreadable, DeadLetterStatus.Parked), (bare.Id, bare.Reason, bare.Status));
        Assert.Equal((null, null, null, null, null), (bare.Body, bare.Headers, bare.ContentType, bare.ExceptionType, bare.FaultedAt));
        Assert.StartsWith("Unreadable: PostgreSQL refused its row", bare.Error);
        Assert.Equal(Now, bare.FirstParkedAt);
    }

    private static void AssertUnreadable(DeadLetterRow row, string why)
    {
        Assert.Equal((DeadLetterSource.ErrorQueue, DeadLetterStatus.Parked, ErrorQueueReasons.Unreadable), (row.Source, row.Status, row.Reason));
        Assert.StartsWith("Unreadable: ", row.Error);
        Assert.Contains(why, row.Error);
        Assert.Equal(DeadLetterGroups.Key(ErrorQueueReasons.Unreadable, null, null, null, row.ExceptionType), row.GroupKey);
        Assert.Equal(Now, row.FirstParkedAt);
    }

    private sealed class Unprintable
    {
        public override string ToString() => throw new InvalidOperationException("ToString refused");
    }
}

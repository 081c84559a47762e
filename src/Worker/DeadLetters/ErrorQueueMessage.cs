using System.Collections;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Worker.Audit;
using Worker.Chain;

namespace Worker.DeadLetters;

/// <summary>
/// Turns a message from the <c>_error</c> queue (any bytes, any headers) into a dead letter: MassTransit's fault headers
/// give the reason, the body is kept as text, and when the body holds a CompletionRequested (enveloped or plain JSON) it
/// is kept as the message a replay sends. No I/O, so every rule is unit-tested.
/// </summary>
public static class ErrorQueueMessage
{
    public const string FaultMessage = "MT-Fault-Message";
    public const string FaultExceptionType = "MT-Fault-ExceptionType";
    public const string FaultStackTrace = "MT-Fault-StackTrace";
    public const string FaultTimestamp = "MT-Fault-Timestamp";

    /// <summary>Stack traces are cut to this many characters: the top frames say where, the rest is noise.</summary>
    public const int StackTraceLength = 4_000;

    private const int ExceptionTypeLength = 256;
    private const int ContentTypeLength = 128;

    /// <param name="skipped">The message came from the <c>_skipped</c> queue (no consumer for its type), not <c>_error</c>.</param>
    public static DeadLetterRow ToDeadLetter(ReadOnlySpan<byte> body, string? contentType, string? messageId,
        IDictionary<string, object?>? headers, DateTimeOffset receivedAt, bool skipped = false)
    {
        var text = Headers(headers);
        var exceptionType = AuditText.Clean(text.GetValueOrDefault(FaultExceptionType), ExceptionTypeLength);
        var bodyText = AuditText.Clean(Encoding.UTF8.GetString(body))!;
        var reason = skipped ? ErrorQueueReasons.UnrecognizedMessageType : Classify(exceptionType, text.GetValueOrDefault(FaultStackTrace));
        var request = RequestIn(bodyText);
        var chain = request is null ? null : AuditText.Clean(request.Chain ?? ChainsOptions.DefaultChain, 128);
        var faultedAt = text.TryGetValue(FaultTimestamp, out var stamp)
            && DateTimeOffset.TryParse(stamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)
            ? parsed.ToUniversalTime() : (DateTimeOffset?)null;
        var stackTrace = text.Remove(FaultStackTrace, out var stack) ? AuditText.Clean(stack, StackTraceLength) : null;

        return new DeadLetterRow
        {
            Id = IdOf(messageId, body, faultedAt),
            RequestId = request?.RequestId,
            Source = skipped ? DeadLetterSource.SkippedQueue : DeadLetterSource.ErrorQueue,
            Status = DeadLetterStatus.Parked,
            Reason = reason,
            Chain = chain,
            ExceptionType = exceptionType,
            GroupKey = DeadLetterGroups.Key(reason, null, null, chain, exceptionType),
            Error = skipped
                ? $"No consumer on the request queue takes its message type ({MessageTypes(bodyText) ?? "none given"}): MassTransit moved it to the _skipped queue."
                : AuditText.Clean(text.GetValueOrDefault(FaultMessage)) ?? "moved to the error queue without a fault message",
            StackTrace = stackTrace,
            Message = request is null ? null : StoredJson.Request(request),
            Body = bodyText,
            ContentType = AuditText.Clean(contentType, ContentTypeLength),
            Headers = JsonSerializer.Serialize(text.ToDictionary(kv => AuditText.Clean(kv.Key)!, kv => AuditText.Clean(kv.Value))),
            FaultedAt = faultedAt,
            FirstParkedAt = receivedAt,
            LastParkedAt = receivedAt,
            ParkCount = 1,
        };
    }

    /// <summary>
    /// The reason code from MT-Fault-ExceptionType. MassTransit reports a body it cannot read as its SerializationException,
    /// as the JSON reader's own exception when the body is cut short, or as whatever System.Text.Json threw reading a value
    /// of the wrong type (a FormatException for a requestId that is no GUID, an InvalidOperationException for a number
    /// sent as a word, the literal <c>null</c>): those are recognised by the top frame of <paramref name="stackTrace"/>, in
    /// System.Text.Json or in MassTransit's serialization.
    /// </summary>
    public static string Classify(string? exceptionType, string? stackTrace = null) => exceptionType switch
    {
        null => ErrorQueueReasons.ConsumerFault,
        _ when exceptionType.Contains("SerializationException", StringComparison.Ordinal)
            || exceptionType.StartsWith("System.Text.Json.", StringComparison.Ordinal)
            || TopFrameIn(stackTrace, "at System.Text.Json.") || TopFrameIn(stackTrace, "at MassTransit.Serialization.") => ErrorQueueReasons.Undeserializable,
        _ when exceptionType.Contains("MessageReturnedException", StringComparison.Ordinal) => ErrorQueueReasons.ResultReturned,
        _ => ErrorQueueReasons.ConsumerFault,
    };

    /// <summary>The CompletionRequested in a body: MassTransit's envelope (under <c>message</c>) or the plain message.</summary>
    public static Contracts.CompletionRequested? RequestIn(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return null;

            return root.TryGetProperty("message", out var inner) && inner.ValueKind == JsonValueKind.Object
                ? StoredJson.ReadRequest(inner.GetRawText())
                : StoredJson.ReadRequest(body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool TopFrameIn(string? stackTrace, string prefix) =>
        stackTrace?.TrimStart().StartsWith(prefix, StringComparison.Ordinal) == true;

    /// <summary>The <c>messageType</c> URNs of a MassTransit envelope, comma-separated; null when the body is not one.</summary>
    private static string? MessageTypes(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("messageType", out var types) && types.ValueKind == JsonValueKind.Array
                ? AuditText.Clean(string.Join(", ", types.EnumerateArray().Select(t => t.ToString())), 500)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>AMQP header values as text: RabbitMQ hands strings over as bytes.</summary>
    public static Dictionary<string, string> Headers(IDictionary<string, object?>? headers)
    {
        var text = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in headers ?? new Dictionary<string, object?>())
        {
            if (Text(value) is { } s)
                text[key] = s;
        }

        return text;

        static string? Text(object? value) => value switch
        {
            null => null,
            byte[] bytes => Encoding.UTF8.GetString(bytes),
            string s => s,
            IEnumerable list => string.Join(", ", list.Cast<object?>().Select(Text)),
            IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString(),
        };
    }

    /// <summary>
    /// The same message seen twice (redelivered before its acknowledgement reached the broker) gets the same id. Ids live
    /// in their own namespace, so they never equal a request id (which is what a chain-parked item's id is).
    /// </summary>
    private static Guid IdOf(string? messageId, ReadOnlySpan<byte> body, DateTimeOffset? faultedAt)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData("error-queue:"u8);
        if (!string.IsNullOrEmpty(messageId))
        {
            hash.AppendData(Encoding.UTF8.GetBytes(messageId));
        }
        else
        {
            hash.AppendData(body);
            hash.AppendData(Encoding.UTF8.GetBytes(faultedAt?.ToString("O") ?? ""));
        }

        return new Guid(hash.GetHashAndReset().AsSpan(0, 16));
    }
}

using System.Collections;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Worker.Audit;
using Worker.Chain;
using Worker.Persistence;
using Worker.Requests;

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

    /// <summary>An unreadable message keeps this much of its body: enough to see what was sent.</summary>
    public const int UnreadableBodyBytes = 64 * 1024;

    /// <summary>The default of DeadLetters:MaxErrorBodyBytes.</summary>
    public const int DefaultMaxBodyBytes = 8 * 1024 * 1024;

    private const int ExceptionTypeLength = 256;
    private const int ContentTypeLength = 128;
    private const int ErrorLength = 2_000;

    /// <summary>
    /// The dead letter of one message. Never throws: a message that cannot be read whole (a body over
    /// <paramref name="maxBodyBytes"/> or not UTF-8, or anything the reading trips on) becomes an <see cref="Unreadable"/> row.
    /// </summary>
    /// <param name="skipped">The message came from the <c>_skipped</c> queue (no consumer for its type), not <c>_error</c>.</param>
    public static DeadLetterRow ToDeadLetter(ReadOnlySpan<byte> body, string? contentType, string? messageId,
        IDictionary<string, object?>? headers, DateTimeOffset receivedAt, bool skipped = false, int maxBodyBytes = DefaultMaxBodyBytes)
    {
        if (body.Length > maxBodyBytes)
            return Unreadable(body, contentType, messageId, headers, receivedAt, skipped,
                $"the body of {body.Length} bytes is over DeadLetters:MaxErrorBodyBytes ({maxBodyBytes})");
        if (!Utf8.IsValid(body))
            return Unreadable(body, contentType, messageId, headers, receivedAt, skipped, "the body is not UTF-8 text");

        try
        {
            return Read(body, contentType, messageId, headers, receivedAt, skipped);
        }
        catch (Exception e)
        {
            return Unreadable(body, contentType, messageId, headers, receivedAt, skipped, e is UnreadableException ? e.Message : Describe(e));
        }
    }

    private static DeadLetterRow Read(ReadOnlySpan<byte> body, string? contentType, string? messageId,
        IDictionary<string, object?>? headers, DateTimeOffset receivedAt, bool skipped)
    {
        var text = Headers(headers);
        var cleanHeaders = new Dictionary<string, string?>(text.Count, StringComparer.Ordinal);
        foreach (var (key, value) in text)
        {
            if (!cleanHeaders.TryAdd(AuditText.Clean(key)!, AuditText.Clean(value)))
                throw new UnreadableException($"two header keys are the same once cleaned ('{AuditText.Clean(key)}')");
        }

        var exceptionType = AuditText.Clean(text.GetValueOrDefault(FaultExceptionType), ExceptionTypeLength);
        var bodyText = AuditText.Clean(Encoding.UTF8.GetString(body))!;
        var reason = skipped ? ErrorQueueReasons.UnrecognizedMessageType : Classify(exceptionType, text.GetValueOrDefault(FaultStackTrace));
        var request = RequestIn(bodyText);
        for (var i = 0; i < (request?.Messages.Count ?? 0); i++)
        {
            if (request!.Messages[i] is null)
                throw new UnreadableException($"messages[{i}] is null");
        }

        var chain = request is null ? null : AuditText.Clean(request.Chain ?? ChainsOptions.DefaultChain, 128);
        var faultedAt = FaultedAt(text);
        var stackTrace = text.TryGetValue(FaultStackTrace, out var stack) ? AuditText.Clean(stack, StackTraceLength) : null;
        // Kept once, trimmed, in its own column.
        cleanHeaders.Remove(AuditText.Clean(FaultStackTrace)!);

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
            Headers = JsonSerializer.Serialize(cleanHeaders),
            FaultedAt = faultedAt,
            FirstParkedAt = receivedAt,
            LastParkedAt = receivedAt,
            ParkCount = 1,
        };
    }

    /// <summary>
    /// The dead letter of a message that cannot be stored as read: reason <c>unreadable</c>, <paramref name="why"/> in the
    /// error, the first <see cref="UnreadableBodyBytes"/> of the body as they came (UTF-8 text, else base64) with the
    /// original size, and the headers as far as they can be kept. Never throws, and has the id <see cref="ToDeadLetter"/>
    /// would give, so a redelivery stores nothing twice.
    /// </summary>
    public static DeadLetterRow Unreadable(ReadOnlySpan<byte> body, string? contentType, string? messageId,
        IDictionary<string, object?>? headers, DateTimeOffset receivedAt, bool skipped, string why)
    {
        Dictionary<string, string>? text = null;
        try
        {
            text = Headers(headers);
        }
        catch (Exception)
        {
            // Headers that cannot even be turned into text are left out; the body and the reason still tell the story.
        }

        var exceptionType = AuditText.Clean(text?.GetValueOrDefault(FaultExceptionType), ExceptionTypeLength);
        var faultedAt = text is null ? null : FaultedAt(text);
        var (keptText, form, keptBytes) = RawText(body[..Math.Min(body.Length, UnreadableBodyBytes)], cut: body.Length > UnreadableBodyBytes);
        var size = keptBytes == body.Length ? $"all {body.Length} bytes" : $"the first {keptBytes} of {body.Length} bytes";

        return new DeadLetterRow
        {
            Id = IdOf(messageId, body, faultedAt),
            Source = skipped ? DeadLetterSource.SkippedQueue : DeadLetterSource.ErrorQueue,
            Status = DeadLetterStatus.Parked,
            Reason = ErrorQueueReasons.Unreadable,
            ExceptionType = exceptionType,
            GroupKey = DeadLetterGroups.Key(ErrorQueueReasons.Unreadable, null, null, null, exceptionType),
            Error = AuditText.Clean($"Unreadable: {why}. Kept {size} of the body, as {form}.", ErrorLength),
            Body = keptText,
            ContentType = AuditText.Clean(contentType, ContentTypeLength),
            Headers = text is null ? null : UniqueHeaders(text),
            FaultedAt = faultedAt,
            FirstParkedAt = receivedAt,
            LastParkedAt = receivedAt,
            ParkCount = 1,
        };
    }

    /// <summary>
    /// <paramref name="row"/> with nothing that came from the message but its id: what is stored when PostgreSQL refused
    /// even the unreadable row. Every value is the ingester's own, so only a broken table can refuse it.
    /// </summary>
    public static DeadLetterRow Bare(DeadLetterRow row, string why) => new()
    {
        Id = row.Id,
        Source = row.Source,
        Status = DeadLetterStatus.Parked,
        Reason = ErrorQueueReasons.Unreadable,
        GroupKey = DeadLetterGroups.Key(ErrorQueueReasons.Unreadable, null, null, null, null),
        Error = AuditText.Clean($"Unreadable: {why}. Body and headers were not kept.", ErrorLength),
        FirstParkedAt = row.FirstParkedAt,
        LastParkedAt = row.LastParkedAt,
        ParkCount = 1,
    };

    /// <summary>The type and message of <paramref name="exception"/>, for the error of an unreadable row.</summary>
    public static string Describe(Exception exception) => $"{exception.GetType().Name}: {exception.Message}";

    /// <summary>The bytes as UTF-8 text when they are that (without NUL, which PostgreSQL refuses), else base64: never a lossy decode.</summary>
    private static (string Text, string Form, int Bytes) RawText(ReadOnlySpan<byte> kept, bool cut)
    {
        // A cut may end inside a character: up to three bytes of it are left out.
        for (var drop = 0; drop <= (cut ? Math.Min(3, kept.Length) : 0); drop++)
        {
            var text = kept[..^drop];
            if (Utf8.IsValid(text) && !text.Contains((byte)0))
                return (Encoding.UTF8.GetString(text), "UTF-8 text", text.Length);
        }

        return (Convert.ToBase64String(kept), "base64", kept.Length);
    }

    /// <summary>Headers as a JSON object of cleaned text; keys that become equal once cleaned get a " (2)", " (3)" suffix.</summary>
    private static string? UniqueHeaders(Dictionary<string, string> text)
    {
        var unique = new Dictionary<string, string?>(text.Count, StringComparer.Ordinal);
        foreach (var (key, value) in text.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var clean = AuditText.Clean(key)!;
            var name = clean;
            for (var n = 2; unique.ContainsKey(name); n++)
                name = $"{clean} ({n})";
            unique[name] = AuditText.Clean(value, StackTraceLength);
        }

        return JsonSerializer.Serialize(unique);
    }

    private static DateTimeOffset? FaultedAt(Dictionary<string, string> text) =>
        text.TryGetValue(FaultTimestamp, out var stamp)
        && DateTimeOffset.TryParse(stamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)
            ? parsed.ToUniversalTime() : null;

    private sealed class UnreadableException(string message) : Exception(message);

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

using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Worker.Simulator.Faults;

/// <summary>
/// What the simulator answers to one call. On the wire (admin API, configuration, counters) each fault goes by
/// its short name: <c>ok</c>, <c>400</c>, <c>401</c>, <c>403</c>, <c>404</c>, <c>429</c>, <c>500</c>, <c>502</c>,
/// <c>503</c>, <c>504</c>, <c>hang</c>, <c>reset</c>, <c>malformed</c>, <c>empty</c>, <c>safety</c>,
/// <c>prompt_blocked</c>, <c>max_tokens</c>, <c>bad_key</c>, <c>echo</c>, <c>quota_day</c>, and for tool calls and
/// JSON answers <c>malformed_tool_call</c>, <c>bad_tool_call</c>, <c>invalid_json</c>, <c>truncated_json</c>,
/// <c>schema_mismatch</c>. The Anthropic wire has no 503: <c>503</c> is its 529 overloaded_error there.
/// </summary>
[JsonConverter(typeof(FaultJsonConverter))]
public enum Fault
{
    /// <summary><c>ok</c>: a normal reply.</summary>
    Ok,

    /// <summary><c>400</c>: INVALID_ARGUMENT / invalid_request_error.</summary>
    BadRequest,

    /// <summary><c>401</c>: UNAUTHENTICATED / invalid_api_key.</summary>
    Unauthorized,

    /// <summary><c>403</c>: PERMISSION_DENIED / request_forbidden.</summary>
    Forbidden,

    /// <summary><c>404</c>: the model does not exist (decommissioned or misspelt).</summary>
    NotFound,

    /// <summary><c>429</c>: rate limited, with a retry delay (Gemini RetryInfo, OpenAI retry-after header).</summary>
    TooManyRequests,

    /// <summary><c>500</c>: INTERNAL / server_error.</summary>
    InternalError,

    /// <summary><c>502</c>: bad gateway.</summary>
    BadGateway,

    /// <summary><c>503</c>: the model is overloaded.</summary>
    Unavailable,

    /// <summary><c>504</c>: DEADLINE_EXCEEDED / gateway timeout.</summary>
    GatewayTimeout,

    /// <summary><c>hang</c>: never answers until the client gives up (capped at 10 minutes).</summary>
    Hang,

    /// <summary><c>reset</c>: the connection is aborted without a response.</summary>
    Reset,

    /// <summary><c>malformed</c>: 200 with truncated JSON.</summary>
    Malformed,

    /// <summary><c>empty</c>: 200 with no candidates / choices.</summary>
    Empty,

    /// <summary><c>safety</c>: 200 with the answer blocked (finishReason SAFETY / finish_reason content_filter).</summary>
    Safety,

    /// <summary><c>prompt_blocked</c>: the prompt itself is blocked (Gemini promptFeedback / OpenAI 400 content_filter).</summary>
    PromptBlocked,

    /// <summary><c>max_tokens</c>: the output budget ran out before any text (MAX_TOKENS / length).</summary>
    MaxTokens,

    /// <summary>
    /// <c>bad_key</c>: the key is invalid. Gemini answers as Google really does for a bad key (400 INVALID_ARGUMENT
    /// with ErrorInfo API_KEY_INVALID), while <c>401</c> gives the textbook 401 UNAUTHENTICATED. OpenAI: 401 invalid_api_key.
    /// </summary>
    BadKey,

    /// <summary>
    /// <c>echo</c>: a 500 whose error message echoes the request's headers, credentials included, as a careless upstream
    /// or proxy does. For testing that no key ever reaches a log line or an audit row.
    /// </summary>
    Echo,

    /// <summary>
    /// <c>quota_day</c>: a per-day quota is spent. Gemini: 429 RESOURCE_EXHAUSTED whose QuotaFailure names a PerDay quota,
    /// with a short retryDelay all the same (as Google sends; retrying does not help until the quota resets).
    /// OpenAI: 429 insufficient_quota, without a retry-after.
    /// </summary>
    DailyQuota,

    /// <summary>
    /// <c>malformed_tool_call</c>: the model botched the call of a tool it was offered. Gemini: finishReason
    /// MALFORMED_FUNCTION_CALL with no content parts; OpenAI: a tool call whose arguments string is not valid JSON;
    /// Anthropic: a tool_use whose input lacks every required property of the tool's schema; the <c>groq</c> target: Groq's
    /// HTTP 400 tool_use_failed. Answered <c>ok</c> when the answer would not be a tool call.
    /// </summary>
    MalformedToolCall,

    /// <summary><c>bad_tool_call</c>: a call of <c>unknown_tool</c>, a tool the request did not offer, whatever was asked.</summary>
    BadToolCall,

    /// <summary>
    /// <c>invalid_json</c>: the answer to a JSON request is prose that does not parse. A tool-call answer gets its
    /// unparsable form instead: OpenAI arguments that are not JSON, Gemini MALFORMED_FUNCTION_CALL, Anthropic a text
    /// block in place of the tool_use. Answered <c>ok</c> to a plain text request.
    /// </summary>
    InvalidJson,

    /// <summary>
    /// <c>truncated_json</c>: the JSON answer (or tool arguments) is cut in the middle and the finish reason says the
    /// output budget ran out (length / MAX_TOKENS / max_tokens). A plain text request gets its text cut the same way.
    /// </summary>
    TruncatedJson,

    /// <summary>
    /// <c>schema_mismatch</c>: valid JSON, or tool arguments, missing the first required property of the schema (a
    /// schema that requires nothing gets its first property with a value of the wrong type). Answered <c>ok</c> to a
    /// plain text request.
    /// </summary>
    SchemaMismatch,
}

/// <summary>Short wire names of <see cref="Fault"/>.</summary>
public static class FaultNames
{
    private static readonly string[] Names =
    [
        "ok", "400", "401", "403", "404", "429", "500", "502", "503", "504",
        "hang", "reset", "malformed", "empty", "safety", "prompt_blocked", "max_tokens", "bad_key", "echo", "quota_day",
        "malformed_tool_call", "bad_tool_call", "invalid_json", "truncated_json", "schema_mismatch",
    ];

    /// <summary>Every accepted name, comma-separated, for error messages.</summary>
    public static string Known { get; } = string.Join(", ", Names);

    /// <summary>The short name, e.g. <c>503</c> for <see cref="Fault.Unavailable"/>.</summary>
    public static string ToWireName(this Fault fault) => Names[(int)fault];

    /// <summary>Parses a short name, ignoring case and surrounding spaces.</summary>
    public static bool TryParse(string? name, [NotNullWhen(true)] out Fault? fault)
    {
        var index = name is null ? -1 : Array.FindIndex(Names, n => n.Equals(name.Trim(), StringComparison.OrdinalIgnoreCase));
        fault = index < 0 ? null : (Fault)index;
        return fault is not null;
    }

    /// <summary>Parses a short name or throws with a message that lists the known names.</summary>
    public static Fault Parse(string name) =>
        TryParse(name, out var fault) ? fault.Value : throw new FormatException(UnknownMessage(name));

    internal static string UnknownMessage(string? name) => $"Unknown fault '{name}'. Known faults: {Known}.";
}

internal sealed class FaultJsonConverter : JsonConverter<Fault>
{
    public override Fault Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Parse(reader.TokenType == JsonTokenType.Number ? reader.GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture) : reader.GetString());

    public override void Write(Utf8JsonWriter writer, Fault value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToWireName());

    public override Fault ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Parse(reader.GetString());

    public override void WriteAsPropertyName(Utf8JsonWriter writer, Fault value, JsonSerializerOptions options) =>
        writer.WritePropertyName(value.ToWireName());

    private static Fault Parse(string? name) =>
        FaultNames.TryParse(name, out var fault) ? fault.Value : throw new JsonException(FaultNames.UnknownMessage(name));
}

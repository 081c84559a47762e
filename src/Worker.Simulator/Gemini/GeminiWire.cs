using System.Diagnostics;
using System.Text.Json.Nodes;
using Worker.Simulator.Calls;
using Worker.Simulator.Faults;
using Worker.Simulator.Structured;

namespace Worker.Simulator.Gemini;

/// <summary>A parsed generateContent request: only what the replies need.</summary>
/// <param name="Ask">The tools and JSON the request asks for.</param>
internal sealed record GeminiRequest(string LastUserText, int PromptWords, int? MaxOutputTokens, StructuredAsk Ask);

/// <summary>Response bodies as generativelanguage.googleapis.com v1beta writes them.</summary>
internal static class GeminiWire
{
    private const string ContentType = "application/json; charset=UTF-8";

    /// <param name="replyToMaxTokens">Pad a successful reply to the request's maxOutputTokens (<see cref="FaultProfile.ReplyToMaxTokens"/>).</param>
    public static IResult Answer(Fault fault, string target, string model, GeminiRequest request, int retryAfterSeconds, bool replyToMaxTokens = false)
    {
        if (Error(fault, model, retryAfterSeconds) is { } error)
            return error;

        var promptTokens = request.PromptWords;
        return fault switch
        {
            Fault.Ok or Fault.MalformedToolCall or Fault.BadToolCall or Fault.InvalidJson or Fault.TruncatedJson or Fault.SchemaMismatch =>
                Json(Shaped(fault, target, model, request, replyToMaxTokens)),
            Fault.Malformed => Truncated(Shaped(Fault.Ok, target, model, request, replyToMaxTokens)),
            Fault.Empty => Json(Envelope(model, new JsonArray(), Usage(promptTokens))),
            Fault.Safety => Json(Envelope(model, new JsonArray(new JsonObject
            {
                ["finishReason"] = "SAFETY",
                ["index"] = 0,
                ["safetyRatings"] = SafetyRatings(),
            }), Usage(promptTokens))),
            // The real API leaves candidates out altogether when the prompt is blocked.
            Fault.PromptBlocked => Json(Envelope(model, candidates: null, Usage(promptTokens), new JsonObject
            {
                ["blockReason"] = "SAFETY",
                ["safetyRatings"] = SafetyRatings(),
            })),
            // What gemini-2.5 thinking models do when thinking eats the whole budget: a candidate with a role and no parts.
            Fault.MaxTokens => Json(Envelope(model, new JsonArray(new JsonObject
            {
                ["content"] = new JsonObject { ["role"] = "model" },
                ["finishReason"] = "MAX_TOKENS",
                ["index"] = 0,
            }), Usage(promptTokens, thoughts: request.MaxOutputTokens ?? 1024))),
            _ => throw new UnreachableException($"Fault {fault} is played before the body is written."),
        };
    }

    public static IResult ModelList(Fault fault, int retryAfterSeconds)
    {
        if (Error(fault, "gemini-2.5-flash", retryAfterSeconds) is { } error)
            return error;
        var models = fault == Fault.Empty ? [] : Models;
        var body = new JsonObject
        {
            ["models"] = new JsonArray([.. models.Select(m => (JsonNode)new JsonObject
            {
                ["name"] = $"models/{m.Id}",
                ["version"] = "001",
                ["displayName"] = m.DisplayName,
                ["inputTokenLimit"] = 1_048_576,
                ["outputTokenLimit"] = 65_536,
                ["supportedGenerationMethods"] = new JsonArray("generateContent", "countTokens"),
                ["temperature"] = 1,
                ["maxTemperature"] = 2,
                ["thinking"] = m.Thinking,
            })]),
        };
        return fault == Fault.Malformed ? Truncated(body) : Json(body);
    }

    /// <summary>The error body of an HTTP-error fault, or null for faults answered with 200.</summary>
    public static IResult? Error(Fault fault, string model, int retryAfterSeconds) => fault switch
    {
        Fault.BadRequest => Error(400, "INVALID_ARGUMENT", "Request contains an invalid argument."),
        Fault.Unauthorized => Error(401, "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."),
        Fault.Forbidden => Error(403, "PERMISSION_DENIED", "The caller does not have permission"),
        Fault.NotFound => NotFound(model, "generateContent"),
        Fault.TooManyRequests => QuotaExceeded(model, "GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "10", retryAfterSeconds),
        Fault.DailyQuota => QuotaExceeded(model, "GenerateRequestsPerDayPerProjectPerModel-FreeTier", "250", retryAfterSeconds),
        Fault.InternalError => Error(500, "INTERNAL",
            "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"),
        Fault.BadGateway => Error(502, "UNAVAILABLE", "The service is currently unavailable."),
        Fault.Unavailable => Error(503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
        Fault.GatewayTimeout => Error(504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
        // Google's real answer to a wrong key is this 400, not a 401.
        Fault.BadKey => Error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
            new JsonObject
            {
                ["@type"] = "type.googleapis.com/google.rpc.ErrorInfo",
                ["reason"] = "API_KEY_INVALID",
                ["domain"] = "googleapis.com",
                ["metadata"] = new JsonObject { ["service"] = "generativelanguage.googleapis.com" },
            },
            new JsonObject
            {
                ["@type"] = "type.googleapis.com/google.rpc.LocalizedMessage",
                ["locale"] = "en-US",
                ["message"] = "API key not valid. Please pass a valid API key.",
            }),
        _ => null,
    };

    /// <summary>What Google answers when neither x-goog-api-key nor ?key= is present.</summary>
    /// <summary>
    /// Gemini's 429: RESOURCE_EXHAUSTED with the quota that was exceeded (QuotaFailure) and a delay (RetryInfo). Google
    /// puts the delay in the body, never in a Retry-After header, and sends one even for a per-day quota.
    /// </summary>
    private static IResult QuotaExceeded(string model, string quotaId, string quotaValue, int retryAfterSeconds) =>
        Error(429, "RESOURCE_EXHAUSTED",
            "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
            new JsonObject
            {
                ["@type"] = "type.googleapis.com/google.rpc.QuotaFailure",
                ["violations"] = new JsonArray(new JsonObject
                {
                    ["quotaMetric"] = "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                    ["quotaId"] = quotaId,
                    ["quotaDimensions"] = new JsonObject { ["location"] = "global", ["model"] = model },
                    ["quotaValue"] = quotaValue,
                }),
            },
            new JsonObject
            {
                ["@type"] = "type.googleapis.com/google.rpc.RetryInfo",
                ["retryDelay"] = $"{retryAfterSeconds}s",
            });

    public static IResult MissingKey() => Error(403, "PERMISSION_DENIED",
        "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.");

    public static IResult NotFound(string model, string action) => Error(404, "NOT_FOUND",
        $"models/{model} is not found for API version v1beta, or is not supported for {action}. Call ListModels to see the list of available models and their supported methods.");

    public static IResult Error(int code, string status, string message, params JsonObject[] details)
    {
        var error = new JsonObject { ["code"] = code, ["message"] = message, ["status"] = status };
        if (details.Length > 0)
            error["details"] = new JsonArray([.. details]);
        return Json(new JsonObject { ["error"] = error }, code);
    }

    /// <summary>
    /// A function call, JSON or text, as the request asks (<see cref="StructuredAsk"/>), spoilt as the fault says. A
    /// function call finishes STOP, as Gemini's do; <c>malformed_tool_call</c> and <c>invalid_json</c> get Gemini's own
    /// MALFORMED_FUNCTION_CALL with no content, <c>truncated_json</c> a call with empty args and MAX_TOKENS.
    /// </summary>
    private static JsonObject Shaped(Fault fault, string target, string model, GeminiRequest request, bool replyToMaxTokens)
    {
        var ask = request.Ask;
        if (fault == Fault.BadToolCall)
            return Candidate(model, request, FunctionCall(StructuredReply.UnknownTool, new JsonObject()), "STOP");
        if (ask.ToolToCall is { } tool)
        {
            return fault switch
            {
                // No content at all, as Google sends it (the candidate seen in pydantic/pydantic-ai#631).
                Fault.MalformedToolCall or Fault.InvalidJson => Envelope(model, new JsonArray(new JsonObject
                {
                    ["finishReason"] = "MALFORMED_FUNCTION_CALL",
                    ["index"] = 0,
                }), Usage(request.PromptWords)),
                Fault.TruncatedJson => Candidate(model, request, FunctionCall(tool.Name, new JsonObject()), "MAX_TOKENS"),
                _ => Candidate(model, request, FunctionCall(tool.Name, StructuredReply.Arguments(tool, fault)), "STOP"),
            };
        }
        var text = Reply.Text(target, model, request.LastUserText, replyToMaxTokens ? request.MaxOutputTokens : null);
        text = ask.AnswersJson ? StructuredReply.JsonText(ask, fault, text)
            : fault == Fault.TruncatedJson ? StructuredReply.Cut(text)
            : text;
        return Candidate(model, request, new JsonObject { ["text"] = text }, fault == Fault.TruncatedJson ? "MAX_TOKENS" : "STOP");
    }

    private static JsonObject FunctionCall(string name, JsonNode args) =>
        new() { ["functionCall"] = new JsonObject { ["name"] = name, ["args"] = args } };

    private static JsonObject Candidate(string model, GeminiRequest request, JsonObject part, string finishReason) =>
        Envelope(model, new JsonArray(new JsonObject
        {
            ["content"] = new JsonObject
            {
                ["parts"] = new JsonArray(part),
                ["role"] = "model",
            },
            ["finishReason"] = finishReason,
            ["index"] = 0,
        }), Usage(request.PromptWords, candidates: Reply.CountWords(part["text"] is { } text ? (string?)text : part.ToJsonString())));

    private static JsonObject Envelope(string model, JsonArray? candidates, JsonObject usage, JsonObject? promptFeedback = null)
    {
        var body = new JsonObject();
        if (candidates is not null)
            body["candidates"] = candidates;
        if (promptFeedback is not null)
            body["promptFeedback"] = promptFeedback;
        body["usageMetadata"] = usage;
        body["modelVersion"] = model;
        body["responseId"] = Reply.RandomId(22);
        return body;
    }

    private static JsonObject Usage(int prompt, int? candidates = null, int? thoughts = null)
    {
        var usage = new JsonObject { ["promptTokenCount"] = prompt };
        if (candidates is not null)
            usage["candidatesTokenCount"] = candidates;
        usage["totalTokenCount"] = prompt + (candidates ?? 0) + (thoughts ?? 0);
        if (thoughts is not null)
            usage["thoughtsTokenCount"] = thoughts;
        return usage;
    }

    private static JsonArray SafetyRatings() => new(
        Rating("HARM_CATEGORY_SEXUALLY_EXPLICIT", "NEGLIGIBLE"),
        Rating("HARM_CATEGORY_HATE_SPEECH", "NEGLIGIBLE"),
        Rating("HARM_CATEGORY_HARASSMENT", "NEGLIGIBLE"),
        Rating("HARM_CATEGORY_DANGEROUS_CONTENT", "HIGH", blocked: true));

    private static JsonObject Rating(string category, string probability, bool blocked = false)
    {
        var rating = new JsonObject { ["category"] = category, ["probability"] = probability };
        if (blocked)
            rating["blocked"] = true;
        return rating;
    }

    private static IResult Json(JsonObject body, int status = StatusCodes.Status200OK) => WireJson.Body(body, ContentType, status);

    private static IResult Truncated(JsonObject body) => WireJson.Truncated(body, ContentType);

    private static readonly (string Id, string DisplayName, bool Thinking)[] Models =
    [
        ("gemini-2.5-pro", "Gemini 2.5 Pro", true),
        ("gemini-2.5-flash", "Gemini 2.5 Flash", true),
        ("gemini-2.5-flash-lite", "Gemini 2.5 Flash-Lite", true),
        ("gemini-2.0-flash", "Gemini 2.0 Flash", false),
    ];
}

using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Worker.Simulator.Calls;
using Worker.Simulator.Faults;
using Worker.Simulator.Structured;

namespace Worker.Simulator.OpenAI;

/// <summary>A parsed chat completions request: only what the replies need.</summary>
/// <param name="Ask">The tools and JSON the request asks for.</param>
internal sealed record OpenAIRequest(string Model, string LastUserText, int PromptWords, int? MaxTokens, StructuredAsk Ask);

/// <summary>Response bodies and headers as api.openai.com/v1 writes them.</summary>
internal static class OpenAIWire
{
    private const string ContentType = "application/json";

    public static IResult Answer(Fault fault, string target, OpenAIRequest request, CallPlan plan, HttpResponse response, TimeProvider time)
    {
        if (Error(fault, request.Model, plan.RetryAfterSeconds, response) is { } error)
            return error;

        var text = Reply.Text(target, request.Model, request.LastUserText, plan.ReplyToMaxTokens ? request.MaxTokens : null);
        return fault switch
        {
            Fault.Malformed => Truncated(Shaped(Fault.Ok, target, request, text, time)),
            Fault.Empty => Json(Completion(request, time, content: null, finishReason: null, completionTokens: 0)),
            Fault.Safety => Json(Completion(request, time, content: null, "content_filter", completionTokens: 0)),
            // A reasoning model that spent the whole budget thinking: empty content, every token a reasoning token.
            Fault.MaxTokens => Json(Completion(request, time, "", "length", request.MaxTokens ?? 1024, reasoning: true)),
            Fault.MalformedToolCall when request.Ask.ToolToCall is { } tool
                && OpenAIFlavour.ToolUseFailed(target, StructuredReply.Cut(StructuredReply.Arguments(tool, fault).ToJsonString())) is { } groq => groq,
            Fault.Ok or Fault.MalformedToolCall or Fault.BadToolCall or Fault.InvalidJson or Fault.TruncatedJson or Fault.SchemaMismatch =>
                Json(Shaped(fault, target, request, text, time)),
            _ => throw new UnreachableException($"Fault {fault} is played before the body is written."),
        };
    }

    /// <summary>
    /// A tool call, JSON or text, as the request asks (<see cref="StructuredAsk"/>), spoilt as the fault says. Tool
    /// calls come with content null and finish_reason tool_calls; arguments are a JSON string, cut in half for
    /// <c>malformed_tool_call</c> and <c>invalid_json</c> (and for <c>truncated_json</c>, then with finish_reason length).
    /// </summary>
    private static JsonObject Shaped(Fault fault, string target, OpenAIRequest request, string text, TimeProvider time)
    {
        var ask = request.Ask;
        if (fault == Fault.BadToolCall)
            return ToolCall(target, request, time, StructuredReply.UnknownTool, "{}", "tool_calls");
        if (ask.ToolToCall is { } tool)
        {
            var arguments = StructuredReply.Arguments(tool, fault).ToJsonString();
            return fault switch
            {
                Fault.MalformedToolCall or Fault.InvalidJson => ToolCall(target, request, time, tool.Name, StructuredReply.Cut(arguments), "tool_calls"),
                Fault.TruncatedJson => ToolCall(target, request, time, tool.Name, StructuredReply.Cut(arguments), "length"),
                _ => ToolCall(target, request, time, tool.Name, arguments, "tool_calls"),
            };
        }
        var content = ask.AnswersJson ? StructuredReply.JsonText(ask, fault, text)
            : fault == Fault.TruncatedJson ? StructuredReply.Cut(text)
            : text;
        return Completion(request, time, content, fault == Fault.TruncatedJson ? "length" : "stop", Reply.CountWords(content));
    }

    private static JsonObject ToolCall(string target, OpenAIRequest request, TimeProvider time, string name, string arguments, string finishReason) =>
        Completion(request, time, content: null, finishReason, Reply.CountWords(arguments), toolCalls: new JsonArray(new JsonObject
        {
            ["id"] = OpenAIFlavour.ToolCallId(target),
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = name, ["arguments"] = arguments },
        }));

    public static IResult ModelList(Fault fault, int retryAfterSeconds, HttpResponse response)
    {
        if (Error(fault, "gpt-4o-mini", retryAfterSeconds, response) is { } error)
            return error;
        var body = new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray([.. (fault == Fault.Empty ? [] : Models).Select(m => (JsonNode)new JsonObject
            {
                ["id"] = m.Id,
                ["object"] = "model",
                ["created"] = m.Created,
                ["owned_by"] = "system",
            })]),
        };
        return fault == Fault.Malformed ? Truncated(body) : Json(body);
    }

    /// <summary>The error body (and headers) of an HTTP-error fault, or null for faults answered with 200.</summary>
    public static IResult? Error(Fault fault, string model, int retryAfterSeconds, HttpResponse response)
    {
        switch (fault)
        {
            case Fault.BadRequest:
                return Error(400, "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 3 instead.",
                    "invalid_request_error", "temperature", "decimal_above_max_value");
            case Fault.Unauthorized or Fault.BadKey:
                // As OpenAI does: the key it was given, masked but for its first and last characters.
                return Error(401, $"Incorrect API key provided: {Masked(response.HttpContext.Request)}. You can find your API key at https://platform.openai.com/account/api-keys.",
                    "invalid_request_error", null, "invalid_api_key");
            case Fault.Forbidden:
                return Error(403, "Country, region, or territory not supported", "request_forbidden", null, "unsupported_country_region_territory");
            case Fault.NotFound:
                return Error(404, $"The model `{model}` does not exist or you do not have access to it.", "invalid_request_error", null, "model_not_found");
            case Fault.TooManyRequests:
                // The SDKs read retry-after-ms first, then retry-after.
                response.Headers["retry-after"] = retryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                response.Headers["retry-after-ms"] = (retryAfterSeconds * 1000L).ToString(CultureInfo.InvariantCulture);
                // A profile's own limits have written their headers already; a scripted 429 claims a spent 500 RPM.
                response.Headers.TryAdd("x-ratelimit-limit-requests", "500");
                response.Headers.TryAdd("x-ratelimit-remaining-requests", "0");
                response.Headers.TryAdd("x-ratelimit-reset-requests", $"{retryAfterSeconds}s");
                return Error(429,
                    $"Rate limit reached for {model} in organization org-simulator on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in {retryAfterSeconds}s. Visit https://platform.openai.com/account/rate-limits to learn more.",
                    "requests", null, "rate_limit_exceeded");
            case Fault.DailyQuota:
                return Error(429, "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
                    "insufficient_quota", null, "insufficient_quota");
            case Fault.InternalError:
                return Error(500, "The server had an error while processing your request. Sorry about that!", "server_error", null, null);
            case Fault.BadGateway:
                return Error(502, "Bad gateway.", "cf_bad_gateway", null, null);
            case Fault.Unavailable:
                return Error(503, "The engine is currently overloaded, please try again later", "server_error", null, null);
            case Fault.GatewayTimeout:
                return Error(504, "Gateway timeout.", "server_error", null, null);
            case Fault.PromptBlocked:
                // OpenAI proper rarely blocks a chat prompt; Azure OpenAI's content filter is the common form.
                return Error(400,
                    "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
                    "invalid_request_error", "prompt", "content_filter",
                    new JsonObject
                    {
                        ["code"] = "ResponsibleAIPolicyViolation",
                        ["content_filter_result"] = new JsonObject
                        {
                            ["hate"] = new JsonObject { ["filtered"] = false, ["severity"] = "safe" },
                            ["self_harm"] = new JsonObject { ["filtered"] = false, ["severity"] = "safe" },
                            ["sexual"] = new JsonObject { ["filtered"] = false, ["severity"] = "safe" },
                            ["violence"] = new JsonObject { ["filtered"] = true, ["severity"] = "high" },
                        },
                    });
            default:
                return null;
        }
    }

    /// <summary>
    /// OpenAI's rate-limit headers, on every answer of a target with per-minute limits: limit, remaining and the time
    /// to reset as a Go duration ("6m0s", "1s", "20ms"). A window the profile does not limit is left out.
    /// </summary>
    public static void RateLimitHeaders(RateLimitState? limits, HttpResponse response)
    {
        if (limits is not { } l)
            return;
        var reset = GoDuration(l.Reset);
        if (l.RequestsLimit > 0)
        {
            response.Headers["x-ratelimit-limit-requests"] = l.RequestsLimit.ToString(CultureInfo.InvariantCulture);
            response.Headers["x-ratelimit-remaining-requests"] = l.RequestsRemaining.ToString(CultureInfo.InvariantCulture);
            response.Headers["x-ratelimit-reset-requests"] = reset;
        }

        if (l.TokensLimit > 0)
        {
            response.Headers["x-ratelimit-limit-tokens"] = l.TokensLimit.ToString(CultureInfo.InvariantCulture);
            response.Headers["x-ratelimit-remaining-tokens"] = l.TokensRemaining.ToString(CultureInfo.InvariantCulture);
            response.Headers["x-ratelimit-reset-tokens"] = reset;
        }
    }

    /// <summary>"20ms" under a second, else "59s" or "1m0s", as OpenAI writes them.</summary>
    internal static string GoDuration(TimeSpan value)
    {
        if (value < TimeSpan.FromSeconds(1))
            return $"{Math.Max(0, (int)value.TotalMilliseconds)}ms";
        var seconds = (int)Math.Ceiling(value.TotalSeconds);
        return seconds < 60 ? $"{seconds}s" : $"{seconds / 60}m{seconds % 60}s";
    }

    private static string Masked(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        var key = authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization["Bearer ".Length..].Trim() : "";
        return key.Length > 12 ? key[..8] + new string('*', key.Length - 12) + key[^4..] : "sk-sim*****************";
    }

    /// <summary>What OpenAI answers without an Authorization: Bearer header.</summary>
    public static IResult MissingKey() => Error(401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username. You can obtain an API key from https://platform.openai.com/account/api-keys.",
        "invalid_request_error", null, "invalid_api_key");

    /// <param name="extra">A provider's own field in the error object, e.g. Groq's failed_generation.</param>
    public static IResult Error(int status, string message, string? type, string? param, string? code, JsonObject? innerError = null,
        (string Name, string Value)? extra = null)
    {
        var error = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = param, ["code"] = code };
        if (innerError is not null)
            error["innererror"] = innerError;
        if (extra is { } field)
            error[field.Name] = field.Value;
        return Json(new JsonObject { ["error"] = error }, status);
    }

    private static JsonObject Completion(OpenAIRequest request, TimeProvider time, string? content, string? finishReason, int completionTokens,
        bool reasoning = false, JsonArray? toolCalls = null)
    {
        var choices = new JsonArray();
        if (finishReason is not null)
        {
            var message = new JsonObject { ["role"] = "assistant", ["content"] = content };
            if (toolCalls is not null)
                message["tool_calls"] = toolCalls;
            message["refusal"] = null;
            message["annotations"] = new JsonArray();
            choices.Add(new JsonObject
            {
                ["index"] = 0,
                ["message"] = message,
                ["logprobs"] = null,
                ["finish_reason"] = finishReason,
            });
        }
        return new JsonObject
        {
            ["id"] = "chatcmpl-" + Reply.RandomId(29),
            ["object"] = "chat.completion",
            ["created"] = time.GetUtcNow().ToUnixTimeSeconds(),
            ["model"] = request.Model,
            ["choices"] = choices,
            ["usage"] = new JsonObject
            {
                ["prompt_tokens"] = request.PromptWords,
                ["completion_tokens"] = completionTokens,
                ["total_tokens"] = request.PromptWords + completionTokens,
                ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = 0, ["audio_tokens"] = 0 },
                ["completion_tokens_details"] = new JsonObject
                {
                    ["reasoning_tokens"] = reasoning ? completionTokens : 0,
                    ["audio_tokens"] = 0,
                    ["accepted_prediction_tokens"] = 0,
                    ["rejected_prediction_tokens"] = 0,
                },
            },
            ["service_tier"] = "default",
            ["system_fingerprint"] = "fp_sim",
        };
    }

    private static IResult Json(JsonObject body, int status = StatusCodes.Status200OK) => WireJson.Body(body, ContentType, status);

    private static IResult Truncated(JsonObject body) => WireJson.Truncated(body, ContentType);

    private static readonly (string Id, long Created)[] Models =
    [
        ("gpt-4o-mini", 1721172741),
        ("gpt-4o", 1715367049),
        ("gpt-4.1-mini", 1744318173),
        ("o4-mini", 1744225351),
        ("gpt-5-mini", 1754425928),
    ];
}

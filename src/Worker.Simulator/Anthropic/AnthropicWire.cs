using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Worker.Simulator.Calls;
using Worker.Simulator.Faults;
using Worker.Simulator.Structured;

namespace Worker.Simulator.Anthropic;

/// <summary>Response bodies and headers as api.anthropic.com/v1/messages writes them.</summary>
internal static class AnthropicWire
{
    private const string ContentType = "application/json";

    public static string RequestId() => "req_01" + Reply.RandomId(22);

    public static IResult Answer(Fault fault, string target, AnthropicRequest request, CallPlan plan, HttpResponse response)
    {
        if (Error(fault, request.Model, plan.RetryAfterSeconds, response) is { } error)
            return error;

        var text = Reply.Text(target, request.Model, request.LastUserText, plan.ReplyToMaxTokens ? request.MaxTokens : null);
        return fault switch
        {
            Fault.Malformed => Truncated(Shaped(Fault.Ok, request, text)),
            Fault.Empty => Json(Message(request, [], "end_turn", outputTokens: 0)),
            // Claude's safety classifiers stop an answer under way: what was written so far, then stop_reason refusal.
            Fault.Safety => Json(Message(request, [TextBlock(StructuredReply.Cut(text))], "refusal", Reply.CountWords(StructuredReply.Cut(text)))),
            // Anthropic does not reject a prompt with an error: a flagged prompt is refused before any output.
            Fault.PromptBlocked => Json(Message(request, [], "refusal", outputTokens: 0)),
            // Extended thinking that spent the whole budget: no text at all, every output token used.
            Fault.MaxTokens => Json(Message(request, [], "max_tokens", request.MaxTokens)),
            Fault.Ok or Fault.MalformedToolCall or Fault.BadToolCall or Fault.InvalidJson or Fault.TruncatedJson or Fault.SchemaMismatch =>
                Json(Shaped(fault, request, text)),
            _ => throw new UnreachableException($"Fault {fault} is played before the body is written."),
        };
    }

    /// <summary>
    /// A tool_use, JSON or text, as the request asks (<see cref="StructuredAsk"/>), spoilt as the fault says. Anthropic's
    /// tool input is an object, never a string, so <c>malformed_tool_call</c> is an input without the schema's required
    /// properties; <c>invalid_json</c> is prose in place of the forced tool_use; <c>truncated_json</c> an empty input with
    /// stop_reason max_tokens.
    /// </summary>
    private static JsonObject Shaped(Fault fault, AnthropicRequest request, string text)
    {
        var ask = request.Ask;
        if (fault == Fault.BadToolCall)
            return ToolUse(request, StructuredReply.UnknownTool, new JsonObject(), "tool_use");
        if (ask.ToolToCall is { } tool)
        {
            return fault switch
            {
                Fault.MalformedToolCall => ToolUse(request, tool.Name, SchemaSample.WithoutRequired(tool.Schema), "tool_use"),
                Fault.InvalidJson => Message(request, [TextBlock(StructuredReply.InvalidJsonText)], "end_turn", Reply.CountWords(StructuredReply.InvalidJsonText)),
                Fault.TruncatedJson => ToolUse(request, tool.Name, new JsonObject(), "max_tokens"),
                _ => ToolUse(request, tool.Name, StructuredReply.Arguments(tool, fault), "tool_use"),
            };
        }
        var content = ask.AnswersJson ? StructuredReply.JsonText(ask, fault, text)
            : fault == Fault.TruncatedJson ? StructuredReply.Cut(text)
            : text;
        return Message(request, [TextBlock(content)], fault == Fault.TruncatedJson ? "max_tokens" : "end_turn", Reply.CountWords(content));
    }

    /// <summary>
    /// The error body of an HTTP-error fault, or null for faults answered with 200. Anthropic has no 503: the
    /// <c>503</c> fault is its 529 overloaded_error, and <c>quota_day</c> is the spend-limit 429, which has no retry-after
    /// because waiting minutes does not help.
    /// </summary>
    public static IResult? Error(Fault fault, string model, int retryAfterSeconds, HttpResponse response)
    {
        switch (fault)
        {
            case Fault.BadRequest:
                return Error(400, "invalid_request_error", "temperature: Input should be less than or equal to 1");
            case Fault.Unauthorized or Fault.BadKey:
                return Error(401, "authentication_error", "invalid x-api-key");
            case Fault.Forbidden:
                return Error(403, "permission_error", "Your API key does not have permission to use the specified resource.");
            case Fault.NotFound:
                return Error(404, "not_found_error", $"model: {model}");
            case Fault.TooManyRequests:
                response.Headers["retry-after"] = retryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                return Error(429, "rate_limit_error",
                    "This request would exceed the rate limit for your organization of 50 requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase.");
            case Fault.DailyQuota:
                return Error(429, "rate_limit_error",
                    "You have reached your specified API usage limits. You will regain access on the first of next month at 00:00 UTC.",
                    new JsonObject { ["error_code"] = "enforced_spend_limit_reached" });
            case Fault.InternalError:
                return Error(500, "api_error", "Internal server error");
            case Fault.BadGateway:
                return Error(502, "api_error", "Bad gateway");
            case Fault.Unavailable:
                return Error(529, "overloaded_error", "Overloaded");
            case Fault.GatewayTimeout:
                return Error(504, "timeout_error", "Request timed out");
            default:
                return null;
        }
    }

    public static IResult Error(int status, string type, string message, JsonObject? details = null)
    {
        var error = new JsonObject { ["type"] = type, ["message"] = message };
        if (details is not null)
            error["details"] = details;
        return Json(new JsonObject { ["type"] = "error", ["error"] = error, ["request_id"] = RequestId() }, status);
    }

    /// <summary>
    /// Anthropic's rate-limit headers, on every answer of a target with per-minute limits: limit, remaining and the
    /// time the window resets, in RFC 3339.
    /// </summary>
    public static void RateLimitHeaders(RateLimitState? limits, HttpResponse response, TimeProvider time)
    {
        if (limits is not { } l)
            return;
        var reset = (time.GetUtcNow() + l.Reset).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        if (l.RequestsLimit > 0)
        {
            response.Headers["anthropic-ratelimit-requests-limit"] = l.RequestsLimit.ToString(CultureInfo.InvariantCulture);
            response.Headers["anthropic-ratelimit-requests-remaining"] = l.RequestsRemaining.ToString(CultureInfo.InvariantCulture);
            response.Headers["anthropic-ratelimit-requests-reset"] = reset;
        }
        if (l.TokensLimit > 0)
        {
            response.Headers["anthropic-ratelimit-tokens-limit"] = l.TokensLimit.ToString(CultureInfo.InvariantCulture);
            response.Headers["anthropic-ratelimit-tokens-remaining"] = l.TokensRemaining.ToString(CultureInfo.InvariantCulture);
            response.Headers["anthropic-ratelimit-tokens-reset"] = reset;
        }
    }

    private static JsonObject ToolUse(AnthropicRequest request, string name, JsonNode input, string stopReason) =>
        Message(request, [new JsonObject
        {
            ["type"] = "tool_use",
            ["id"] = "toolu_01" + Reply.RandomId(22),
            ["name"] = name,
            ["input"] = input,
        }], stopReason, Reply.CountWords(input.ToJsonString()));

    private static JsonObject TextBlock(string text) => new() { ["type"] = "text", ["text"] = text };

    private static JsonObject Message(AnthropicRequest request, JsonObject[] content, string stopReason, int outputTokens) => new()
    {
        ["id"] = "msg_01" + Reply.RandomId(22),
        ["type"] = "message",
        ["role"] = "assistant",
        ["model"] = request.Model,
        ["content"] = new JsonArray([.. content]),
        ["stop_reason"] = stopReason,
        ["stop_sequence"] = null,
        ["usage"] = new JsonObject
        {
            ["input_tokens"] = request.PromptWords,
            ["cache_creation_input_tokens"] = 0,
            ["cache_read_input_tokens"] = 0,
            ["output_tokens"] = outputTokens,
            ["service_tier"] = "standard",
        },
    };

    private static IResult Json(JsonObject body, int status = StatusCodes.Status200OK) => WireJson.Body(body, ContentType, status);

    private static IResult Truncated(JsonObject body) => WireJson.Truncated(body, ContentType);
}

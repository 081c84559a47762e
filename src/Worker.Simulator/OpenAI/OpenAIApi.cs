using System.Text;
using System.Text.Json;
using Worker.Simulator.Calls;
using Worker.Simulator.Faults;

namespace Worker.Simulator.OpenAI;

/// <summary>
/// OpenAI Chat Completions: <c>POST /{target}/v1/chat/completions</c> and the models list, answered as the
/// OpenAI-compatible flavour the target names (<see cref="OpenAIFlavour"/>).
/// </summary>
internal static class OpenAIApi
{
    public const string Format = "openai";

    public static IEndpointRouteBuilder MapOpenAI(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/{target}/v1");
        v1.MapGet("/models", ListModelsAsync);
        v1.MapPost("/chat/completions", ChatCompletionsAsync);
        return app;
    }

    private static Task<IResult> ListModelsAsync(string target, HttpContext context, SimulatorState state)
    {
        StampRequestId(context.Response);
        var hasKey = HasKey(context.Request) || OpenAIFlavour.KeyOptional(target);
        var plan = state.Admit(target, Format, "(models)", hasKey ? null : Fault.Unauthorized);
        return CallPipeline.PlayAsync(context, plan, fault =>
            hasKey ? OpenAIWire.ModelList(fault, plan.RetryAfterSeconds, context.Response) : OpenAIWire.MissingKey());
    }

    private static async Task<IResult> ChatCompletionsAsync(string target, HttpContext context, SimulatorState state, TimeProvider time)
    {
        StampRequestId(context.Response);
        // The body is read before the key is checked only so that a rejected call is still counted under its model.
        var (request, model, error) = await ReadAsync(context, target);

        if (!HasKey(context.Request) && !OpenAIFlavour.KeyOptional(target))
            return await Reject(Fault.Unauthorized, OpenAIWire.MissingKey());
        if (request is null)
            return await Reject(Fault.BadRequest, error!);

        var plan = state.Admit(target, Format, request.Model, prompt: request.LastUserText, tokens: request.PromptWords + (request.MaxTokens ?? 0));
        return await CallPipeline.PlayAsync(context, plan, fault =>
        {
            OpenAIWire.RateLimitHeaders(plan.RateLimit, context.Response);
            return fault == Fault.Echo
                ? OpenAIWire.Error(500, Echo.Of(context.Request), "server_error", null, null)
                : OpenAIWire.Answer(fault, target, request, plan, context.Response, time);
        });

        Task<IResult> Reject(Fault fault, IResult answer) =>
            CallPipeline.PlayAsync(context, state.Admit(target, Format, model ?? "(unknown)", fault), _ => answer);
    }

    private static bool HasKey(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && authorization.Length > "Bearer ".Length
            && !string.IsNullOrWhiteSpace(authorization["Bearer ".Length..]);
    }

    private static void StampRequestId(HttpResponse response) =>
        response.Headers["x-request-id"] = "req_" + Guid.NewGuid().ToString("N");

    private static async Task<(OpenAIRequest? Request, string? Model, IResult? Error)> ReadAsync(HttpContext context, string target)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        catch (JsonException)
        {
            return (null, null, Invalid(
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
                null, null));
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return (null, null, Invalid("Invalid type for request body: expected an object.", null, "invalid_type"));

            var model = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            if (string.IsNullOrWhiteSpace(model))
                return (null, null, Invalid("you must provide a model parameter", null, null));
            if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
                return (null, model, Invalid("Missing required parameter: 'messages'.", "messages", "missing_required_parameter"));
            if (messages.GetArrayLength() == 0)
                return (null, model, Invalid("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", "messages", "empty_array"));
            // Streaming would need server-sent events; the providers here never ask for it.
            if (root.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True)
                return (null, model, Invalid("The simulator does not support 'stream': true.", "stream", "unsupported_value"));

            var words = 0;
            var lastUser = "";
            var lastRole = "";
            foreach (var message in messages.EnumerateArray())
            {
                var text = ContentText(message);
                words += Reply.CountWords(text);
                lastRole = message.ValueKind == JsonValueKind.Object && message.TryGetProperty("role", out var role)
                    && role.ValueKind == JsonValueKind.String ? role.GetString()! : "";
                if (lastRole == "user")
                    lastUser = text;
            }
            if (OpenAIFlavour.RejectToolCallIds(target, messages) is { } rejection)
                return (null, model, rejection);

            var ask = OpenAIStructured.Read(root, afterToolResult: lastRole == "tool");
            return (new OpenAIRequest(model, lastUser, words, MaxTokens(root), ask), model, null);
        }

        static IResult Invalid(string message, string? param, string? code) =>
            OpenAIWire.Error(400, message, "invalid_request_error", param, code);
    }

    private static int? MaxTokens(JsonElement root)
    {
        foreach (var name in (ReadOnlySpan<string>)["max_completion_tokens", "max_tokens"])
        {
            if (root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var max))
                return max;
        }
        return null;
    }

    // Content is a string, or an array of parts of which only the text ones matter here.
    private static string ContentText(JsonElement message)
    {
        if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("content", out var content))
            return "";
        if (content.ValueKind == JsonValueKind.String)
            return content.GetString()!;
        if (content.ValueKind != JsonValueKind.Array)
            return "";
        var text = new StringBuilder();
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
                text.Append(t.GetString());
        }
        return text.ToString();
    }
}

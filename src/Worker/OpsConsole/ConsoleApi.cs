using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Worker.Ops;

namespace Worker.OpsConsole;

/// <summary>
/// The ops console: <c>GET /status</c> and <c>GET /metrics/series</c> behind the ops token, and the page at
/// <c>/console/</c>. The page is a public static shell with no data in it; every figure comes from the ops API with
/// the token the person types, which the page keeps in the tab's sessionStorage only.
/// </summary>
public static class ConsoleApi
{
    /// <summary>Where the build (src/Worker.Console, <c>npm run build</c>) puts the page, under the content root.</summary>
    public const string Folder = "wwwroot/console";

    public static IServiceCollection AddOpsConsole(this IServiceCollection services)
    {
        services.AddOptions<ConsoleOptions>().BindConfiguration(ConsoleOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ConsoleOptions>, ConsoleOptionsValidator>();
        services.AddSingleton<KpiQuery>();
        services.AddSingleton<LatencyQuery>();
        services.AddSingleton<SeriesQuery>();
        services.AddSingleton<StatusService>();
        return services;
    }

    public static WebApplication MapOpsConsole(this WebApplication app)
    {
        var ops = app.MapGroup("").AddEndpointFilter<OpsAuthFilter>();
        ops.MapGet("/status", GetStatusAsync);
        ops.MapGet("/metrics/series", GetSeriesAsync);

        // Not a route: "/console" as a route would match "/console/" too, and a matched endpoint turns the static files off.
        app.Use((context, next) =>
        {
            if (context.Request.Path.Value == "/console")
            {
                context.Response.Redirect("/console/");
                return Task.CompletedTask;
            }

            return next(context);
        });
        var root = Path.Combine(app.Environment.ContentRootPath, Folder);
        if (Directory.Exists(root))
        {
            var files = new PhysicalFileProvider(root);
            app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files, RequestPath = "/console" });
            app.UseStaticFiles(new StaticFileOptions
            {
                FileProvider = files,
                RequestPath = "/console",
                // The shell may be cached but is revalidated, so a new build shows at the next load.
                OnPrepareResponse = c =>
                {
                    var headers = c.Context.Response.Headers;
                    headers.CacheControl = "no-cache";
                    headers.XContentTypeOptions = "nosniff";
                    headers["Referrer-Policy"] = "no-referrer";
                    // uPlot sets style attributes on its elements; nothing else is inline.
                    headers.ContentSecurityPolicy =
                        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; " +
                        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
                },
            });
        }
        else
        {
            Log.ConsoleMissing(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ConsoleApi)), root);
            app.MapGet("/console/{**rest}", () => TypedResults.Problem(
                title: "Console not built",
                detail: "The ops console's files are missing: build the Worker project (dotnet build runs npm ci and npm run build in src/Worker.Console).",
                statusCode: StatusCodes.Status503ServiceUnavailable));
        }

        return app;
    }

    private static async Task<Results<Ok<StatusReport>, ValidationProblem>> GetStatusAsync(
        string? window, StatusService status, CancellationToken cancellationToken)
    {
        if (ConsoleWindow.Parse(window) is not { } w)
            return InvalidWindow();
        return TypedResults.Ok(await status.GetAsync(w, cancellationToken));
    }

    private static async Task<Results<Ok<SeriesReport>, ValidationProblem>> GetSeriesAsync(
        string? window, SeriesQuery series, TimeProvider time, CancellationToken cancellationToken)
    {
        if (ConsoleWindow.Parse(window) is not { } w)
            return InvalidWindow();
        var until = time.GetUtcNow();
        var since = until - w.Span;
        return TypedResults.Ok(new SeriesReport(w.Name, since, until, (int)w.Bucket.TotalSeconds, await series.RunAsync(since, until, w.Bucket, cancellationToken)));
    }

    private static ValidationProblem InvalidWindow() =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["window"] = [$"must be {ConsoleWindow.Help}."] });
}

/// <summary><c>GET /metrics/series</c>: per provider and model, one point per bucket of <see cref="BucketSeconds"/> over [since, until].</summary>
public sealed record SeriesReport(string Window, DateTimeOffset Since, DateTimeOffset Until, int BucketSeconds, IReadOnlyList<ProviderSeries> Providers);

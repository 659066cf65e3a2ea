namespace ErrorHub.Dashboard.Access;

/// <summary>
/// What a request with a method a page does not take gets. Pages take GET and POST; the static files' catch-all route
/// takes GET and HEAD, so a HEAD of a page matched nothing and the fallback policy sent it to sign in: a HEAD of the sign-in
/// page itself (link checkers and uptime monitors send HEAD) was redirected to the sign-in page, whose HEAD was redirected
/// again, with an ever longer return address, without end. Pages now answer HEAD as GET (the server sends the headers
/// only), and any other method a path does not take is routing's 405 for everyone, before signing in: a wrong method says
/// nothing a client may not know.
/// </summary>
internal static class MethodNotAllowedAnswers
{
    /// <summary>The display name routing gives the endpoint it makes for a path whose endpoints take other methods.</summary>
    private const string RoutingsMethodNotAllowedEndpoint = "405 HTTP Method Not Supported";

    /// <summary>Goes before authentication: the refusal needs no user, and then the status code pages and API bodies give it its body.</summary>
    public static IApplicationBuilder UseMethodNotAllowedWithoutSignIn(this IApplicationBuilder app) => app.Use((context, next) =>
        context.GetEndpoint() is { DisplayName: RoutingsMethodNotAllowedEndpoint, RequestDelegate: { } refuse } ? refuse(context) : next(context));

    /// <summary>Every page that takes GET takes HEAD too, rendered as for GET (it changes nothing; Kestrel sends no body for HEAD).</summary>
    public static TBuilder WithHeadLikeGet<TBuilder>(this TBuilder pages)
        where TBuilder : IEndpointConventionBuilder
    {
        pages.Add(endpoint =>
        {
            // Routing reads the last method metadata an endpoint has.
            if (endpoint.Metadata.OfType<IHttpMethodMetadata>().LastOrDefault() is { } methods
                && methods.HttpMethods.Contains(HttpMethods.Get) && !methods.HttpMethods.Contains(HttpMethods.Head))
            {
                endpoint.Metadata.Add(new HttpMethodMetadata([.. methods.HttpMethods, HttpMethods.Head], methods.AcceptCorsPreflight));
            }
        });
        return pages;
    }
}

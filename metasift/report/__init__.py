"""The review report: PRISMA 2020 flow, risk of bias, HTML and Markdown, all read from the store."""
